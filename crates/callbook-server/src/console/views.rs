//! The console's pages, rendered on the server. maud escapes every value it is given, so
//! whatever a webhook carries is shown as text.

use callbook_store::{AttemptRecord, Delivery, EventSummary, ParseStatus, StoredEvent};
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// Where the console is mounted (`/ui`, or `/ops/ui` when nested) and the session's CSRF token.
pub(crate) struct Page<'a> {
    pub(crate) base: &'a str,
    pub(crate) csrf: Option<&'a str>,
}

fn layout(page: &Page<'_>, title: &str, body: Markup) -> Markup {
    layout_refreshing(page, title, None, body)
}

/// `refresh`: seconds after which the page reloads itself (a progress view that needs no
/// script).
fn layout_refreshing(page: &Page<'_>, title: &str, refresh: Option<u32>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(seconds) = refresh {
                    meta http-equiv="refresh" content=(seconds);
                }
                title { (title) " · callbook" }
                link rel="stylesheet" href={ (page.base) "/assets/console.css" };
            }
            body {
                header {
                    nav aria-label="Console" {
                        a.brand href={ (page.base) "/overview" } { "callbook" }
                        @if let Some(csrf) = page.csrf {
                            a href={ (page.base) "/overview" } { "Overview" }
                            a href={ (page.base) "/events" } { "Events" }
                            a href={ (page.base) "/dead" } { "Dead letters" }
                            a href={ (page.base) "/destinations" } { "Destinations" }
                            a href={ (page.base) "/people" } { "People" }
                            form.inline method="post" action={ (page.base) "/logout" } {
                                input type="hidden" name="csrf" value=(csrf);
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

pub(crate) fn login(page: &Page<'_>, refused: bool) -> Markup {
    layout(
        page,
        "Sign in",
        html! {
            h1 { "Sign in" }
            @if refused {
                p.error role="alert" { "That is not the admin token." }
            }
            form method="post" action={ (page.base) "/login" } {
                label for="token" { "Admin token" }
                input #token type="password" name="token" autocomplete="current-password" required autofocus;
                button type="submit" { "Sign in" }
            }
            p.hint { "The value of " code { "admin.token" } " in callbook.toml." }
        },
    )
}

/// The filters of the events page, as given (re-shown in the form).
#[derive(Default)]
pub(crate) struct EventFilters {
    pub(crate) source: String,
    pub(crate) provider: String,
    pub(crate) event_type: String,
    pub(crate) parsed: String,
    pub(crate) search: String,
    pub(crate) since: String,
    pub(crate) until: String,
}

pub(crate) fn events(
    page: &Page<'_>,
    filters: &EventFilters,
    events: &[EventSummary],
    older: Option<String>,
) -> Markup {
    layout(
        page,
        "Events",
        html! {
            h1 { "Events" }
            form.filters method="get" action={ (page.base) "/events" } {
                label.search { "Search " input type="search" name="search" value=(filters.search) placeholder="e-mail, phone or de-duplication key"; }
                label { "Source " input type="text" name="source" value=(filters.source); }
                label { "Provider "
                    select name="provider" {
                        @for (value, label) in [("", "any"), ("calendly", "Calendly"), ("aircall", "Aircall")] {
                            option value=(value) selected[filters.provider == value] { (label) }
                        }
                    }
                }
                label { "Event type " input type="text" name="event_type" value=(filters.event_type) placeholder="invitee.created"; }
                label { "Parsed "
                    select name="parsed" {
                        @for (value, label) in [("", "any"), ("yes", "parsed"), ("no", "not parsed")] {
                            option value=(value) selected[filters.parsed == value] { (label) }
                        }
                    }
                }
                label { "From (UTC) " input type="datetime-local" name="since" value=(filters.since); }
                label { "To (UTC) " input type="datetime-local" name="until" value=(filters.until); }
                button type="submit" { "Filter" }
            }
            @if events.is_empty() {
                p { "No event matches." }
            } @else {
                table {
                    thead { tr { th { "Received" } th { "Source" } th { "Type" } th { "Parsed" } th { "Size" } } }
                    tbody {
                        @for e in events {
                            tr {
                                td { a href={ (page.base) "/events/" (e.id) } { (e.received_at.format("%Y-%m-%d %H:%M:%S")) } }
                                td { (e.source) " " span.muted { "(" (e.provider.as_str()) ")" } }
                                td { (e.event_type.as_deref().unwrap_or("?")) }
                                td { (parse_label(&e.parse_status)) }
                                td { (e.body_len) " B" }
                            }
                        }
                    }
                }
            }
            @if let Some(query) = older {
                p { a href={ (page.base) "/events?" (query) } rel="next" { "Older events" } }
            }
        },
    )
}

fn parse_label(status: &ParseStatus) -> &'static str {
    match status {
        ParseStatus::Parsed => "yes",
        _ => "no",
    }
}

pub(crate) struct EventView<'a> {
    pub(crate) event: &'a StoredEvent,
    pub(crate) summary: Option<String>,
    pub(crate) pretty_body: String,
    pub(crate) deliveries: Vec<(Delivery, Vec<AttemptRecord>)>,
    pub(crate) notice: Option<&'a str>,
}

pub(crate) fn event(page: &Page<'_>, view: &EventView<'_>) -> Markup {
    let e = &view.event.summary;
    let title = e.event_type.as_deref().unwrap_or("event");
    layout(
        page,
        title,
        html! {
            p { a href={ (page.base) "/events" } { "← Events" } }
            h1 { (title) }
            @if let Some(notice) = view.notice {
                p.notice role="status" { (notice) }
            }
            @if let Some(summary) = &view.summary {
                p.summary { (summary) }
            }
            dl {
                dt { "ID" } dd { code { (e.id) } }
                dt { "Source" } dd { (e.source) " (" (e.provider.as_str()) ")" }
                dt { "Received" } dd { (e.received_at.to_rfc3339()) }
                @if let Some(at) = e.occurred_at { dt { "Occurred" } dd { (at.to_rfc3339()) } }
                dt { "De-duplication key" } dd { code { (e.dedupe_key) } }
                dt { "Parsed" } dd {
                    @match &e.parse_status {
                        ParseStatus::Unparsed(error) => { "no: " (error) }
                        _ => { "yes" }
                    }
                }
            }
            h2 { "Deliveries" }
            @if view.deliveries.is_empty() {
                p { "No destination takes this event." }
            }
            @for (d, attempts) in &view.deliveries {
                section.delivery {
                    h3 { (d.destination) " · " span class={ "state " (d.state.as_str()) } { (d.state.as_str()) } }
                    p { (d.attempts) " attempt(s)"
                        @if let Some(next) = d.next_attempt_at { " · next at " (next.to_rfc3339()) } }
                    @if !attempts.is_empty() {
                        table {
                            thead { tr { th { "At" } th { "Status" } th { "Latency" } th { "Error or answer" } } }
                            tbody {
                                @for a in attempts {
                                    tr {
                                        td { (a.attempted_at.format("%H:%M:%S%.3f")) }
                                        td { @if let Some(s) = a.status_code { (s) } @else { "–" } }
                                        td { (a.latency_ms) " ms" }
                                        td { code { (a.error.as_deref().or(a.response_excerpt.as_deref()).unwrap_or("")) } }
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(csrf) = page.csrf {
                        form method="post" action={ (page.base) "/deliveries/" (d.id) "/retry" } {
                            input type="hidden" name="csrf" value=(csrf);
                            input type="hidden" name="event" value=(e.id);
                            button type="submit" { "Retry now" }
                        }
                    }
                }
            }
            h2 { "Headers" }
            table.headers {
                tbody {
                    @for (name, value) in &view.event.headers {
                        tr { th scope="row" { (name) } td { code { (value) } } }
                    }
                }
            }
            h2 { "Body" }
            p { a href={ (page.base) "/events/" (e.id) "/body" } download { "Download the raw bytes" } }
            pre.body { code { (PreEscaped(highlight(&view.pretty_body))) } }
        },
    )
}

/// JSON with its strings, numbers and literals in spans, escaped: the body is the sender's
/// text, so every character is escaped before any markup is added around it.
fn highlight(json: &str) -> String {
    let mut out = String::with_capacity(json.len() * 2);
    let mut chars = json.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '"' => {
                let mut s = String::from('"');
                let mut escaped = false;
                for (_, c) in chars.by_ref() {
                    s.push(c);
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                // A string followed by a colon is a key.
                let is_key = chars
                    .clone()
                    .find(|(_, c)| !c.is_whitespace())
                    .map(|(_, c)| c)
                    == Some(':');
                let class = if is_key { "k" } else { "s" };
                out.push_str(&format!("<span class=\"{class}\">"));
                escape_into(&s, &mut out);
                out.push_str("</span>");
            }
            '-' | '0'..='9' => {
                let mut n = String::from(c);
                while let Some((_, c)) = chars.peek() {
                    if c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-') {
                        n.push(*c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push_str("<span class=\"n\">");
                escape_into(&n, &mut out);
                out.push_str("</span>");
            }
            't' | 'f' | 'n' => {
                let mut word = String::from(c);
                while let Some((_, c)) = chars.peek() {
                    if c.is_ascii_alphabetic() {
                        word.push(*c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push_str("<span class=\"l\">");
                escape_into(&word, &mut out);
                out.push_str("</span>");
            }
            other => escape_into(other.encode_utf8(&mut [0; 4]), &mut out),
        }
    }
    out
}

fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// One destination as the console shows it.
pub(crate) struct DestinationRow {
    pub(crate) name: String,
    pub(crate) kind: &'static str,
    pub(crate) url: Option<String>,
    pub(crate) disabled: bool,
    pub(crate) breaker: &'static str,
    pub(crate) pending: u64,
    pub(crate) due: u64,
    pub(crate) dead: u64,
}

fn csrf_field(page: &Page<'_>) -> Markup {
    html! { @if let Some(csrf) = page.csrf { input type="hidden" name="csrf" value=(csrf); } }
}

pub(crate) fn destinations(
    page: &Page<'_>,
    rows: &[DestinationRow],
    notice: Option<&str>,
) -> Markup {
    // While replayed deliveries wait, the page follows them without script.
    let busy = rows.iter().any(|r| r.due > 0);
    layout_refreshing(
        page,
        "Destinations",
        busy.then_some(2),
        html! {
            h1 { "Destinations" }
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            @if rows.is_empty() { p { "No destination is configured." } }
            @for r in rows {
                section.delivery id={ "destination-" (r.name) } {
                    h3 { (r.name) " · " span.muted { (r.kind) }
                        @if r.disabled { " · " span.state.dead { "disabled" } } }
                    @if let Some(url) = &r.url { p { code { (url) } } }
                    p {
                        "Circuit breaker " strong { (r.breaker) }
                        " · " span.pending { (r.pending) } " pending (" (r.due) " due)"
                        " · " span.dead { (r.dead) } " dead"
                    }
                    @if busy && r.due > 0 { p.progress { progress max=(r.pending.max(1)) value=(r.pending.saturating_sub(r.due)) {} " delivering…" } }
                    div.actions {
                        @if r.disabled {
                            form method="post" action={ (page.base) "/destinations/" (r.name) "/enable" } {
                                (csrf_field(page)) button type="submit" { "Enable" }
                            }
                        } @else {
                            form method="post" action={ (page.base) "/destinations/" (r.name) "/disable" } {
                                (csrf_field(page)) button.secondary type="submit" { "Disable" }
                            }
                        }
                        @if r.dead > 0 {
                            form method="post" action={ (page.base) "/destinations/" (r.name) "/replay" } {
                                (csrf_field(page))
                                input type="hidden" name="dead" value="true";
                                button type="submit" { "Replay " (r.dead) " dead" }
                            }
                        }
                        form.range method="post" action={ (page.base) "/destinations/" (r.name) "/replay" } {
                            (csrf_field(page))
                            label { "From (UTC) " input type="datetime-local" name="since" required; }
                            label { "To (UTC) " input type="datetime-local" name="until"; }
                            button type="submit" { "Replay range" }
                        }
                    }
                }
            }
        },
    )
}

pub(crate) fn dead(
    page: &Page<'_>,
    per_destination: &[(String, u64)],
    deliveries: &[Delivery],
    older: Option<String>,
) -> Markup {
    layout(
        page,
        "Dead letters",
        html! {
            h1 { "Dead letters" }
            p.hint { "Deliveries that used every attempt. Replay one from its event, or all of a destination's from "
                a href={ (page.base) "/destinations" } { "Destinations" } "." }
            @if !per_destination.is_empty() {
                div.actions {
                    @for (name, dead) in per_destination {
                        form method="post" action={ (page.base) "/destinations/" (name) "/replay" } {
                            (csrf_field(page))
                            input type="hidden" name="dead" value="true";
                            button type="submit" { "Replay all " (dead) " dead to " (name) }
                        }
                    }
                }
            }
            @if deliveries.is_empty() {
                p { "Nothing is dead." }
            } @else {
                table {
                    thead { tr { th { "Since" } th { "Destination" } th { "Event" } th { "Attempts" } th { "Last answer" } } }
                    tbody {
                        @for d in deliveries {
                            tr {
                                td { (d.updated_at.format("%Y-%m-%d %H:%M:%S")) }
                                td { (d.destination) }
                                td { a href={ (page.base) "/events/" (d.event_id) } { code { (d.event_id) } } }
                                td { (d.attempts) }
                                td { @if let Some(s) = d.last_status { (s) " " } code { (d.last_error.as_deref().unwrap_or("")) } }
                            }
                        }
                    }
                }
            }
            @if let Some(query) = older {
                p { a href={ (page.base) "/dead?" (query) } rel="next" { "Older" } }
            }
        },
    )
}

/// One source on the overview.
pub(crate) struct SourceRow {
    pub(crate) name: String,
    pub(crate) provider: &'static str,
    /// Events stored in each of the last 1,440 minutes, oldest first.
    pub(crate) per_minute: Vec<u32>,
    pub(crate) rejections: Vec<(&'static str, u64)>,
}

/// A bar chart of the last day in 15-minute bars, drawn as SVG on the server (no script; the
/// colours come from the stylesheet).
fn day_chart(per_minute: &[u32]) -> Markup {
    let bars: Vec<u32> = per_minute.chunks(15).map(|c| c.iter().sum()).collect();
    let peak = bars.iter().copied().max().unwrap_or(0).max(1);
    let (width, height) = (bars.len() as u32 * 10, 60u32);
    html! {
        svg.chart viewBox={ "0 0 " (width) " " (height) } preserveAspectRatio="none" role="img"
            aria-label={ "Events per 15 minutes over the last 24 hours, peak " (peak) } {
            @for (i, n) in bars.iter().enumerate() {
                @let h = (u64::from(*n) * u64::from(height) / u64::from(peak)) as u32;
                @if h > 0 {
                    rect x=(i * 10) y=(height - h) width="8" height=(h) {
                        title { (n) " events" }
                    }
                }
            }
        }
    }
}

pub(crate) fn overview(
    page: &Page<'_>,
    sources: &[SourceRow],
    destinations: &[DestinationRow],
) -> Markup {
    layout(
        page,
        "Overview",
        html! {
            h1 { "Overview" }
            h2 { "Sources" }
            p.hint { "Events stored per 15 minutes over the last 24 hours, and webhooks refused, since this instance started." }
            @if sources.is_empty() { p { "No source is configured." } }
            @for s in sources {
                section.delivery id={ "source-" (s.name) } {
                    @let day: u64 = s.per_minute.iter().map(|n| u64::from(*n)).sum();
                    @let hour: u64 = s.per_minute.iter().rev().take(60).map(|n| u64::from(*n)).sum();
                    h3 { a href={ (page.base) "/events?source=" (s.name) } { (s.name) } " · " span.muted { (s.provider) } }
                    p { span.day { (day) } " events in 24 h · " (hour) " in the last hour" }
                    (day_chart(&s.per_minute))
                    @if s.rejections.is_empty() {
                        p.muted { "No webhook refused." }
                    } @else {
                        p { "Refused: "
                            @for (i, (reason, n)) in s.rejections.iter().enumerate() {
                                @if i > 0 { ", " }
                                code { (reason) } " " span.rejected { (n) }
                            }
                        }
                    }
                }
            }
            h2 { "Deliveries" }
            @if destinations.is_empty() { p { "No destination is configured." } }
            @else {
                table {
                    thead { tr { th { "Destination" } th { "Kind" } th { "Breaker" } th { "Pending" } th { "Due" } th { "Dead" } } }
                    tbody {
                        @for d in destinations {
                            tr {
                                td { a href={ (page.base) "/destinations#destination-" (d.name) } { (d.name) }
                                    @if d.disabled { " " span.state.dead { "disabled" } } }
                                td { (d.kind) }
                                td { (d.breaker) }
                                td { (d.pending) }
                                td { (d.due) }
                                td { @if d.dead > 0 { a href={ (page.base) "/dead" } { (d.dead) } } @else { "0" } }
                            }
                        }
                    }
                }
            }
        },
    )
}

pub(crate) enum PeopleResult {
    /// No directory is configured.
    Off,
    /// Nothing asked yet.
    Ask,
    Found(Box<super::PersonPage>),
    Unknown,
    Invalid(String),
}

pub(crate) fn people(page: &Page<'_>, query: &str, result: &PeopleResult) -> Markup {
    layout(
        page,
        "People",
        html! {
            h1 { "People" }
            form.filters method="get" action={ (page.base) "/people" } {
                label { "Phone number or e-mail " input type="search" name="q" value=(query) required; }
                button type="submit" { "Look up" }
            }
            @match result {
                PeopleResult::Off => p { "The directory is off: it is on when recipes are configured, or with "
                    code { "[directory] enabled = true" } "." },
                PeopleResult::Ask => p.hint { "Their Calendly meetings and Aircall calls, as one timeline." },
                PeopleResult::Unknown => p { "The directory knows nothing of " strong { (query) } "." },
                PeopleResult::Invalid(message) => p.error role="alert" { (message) },
                PeopleResult::Found(person) => {
                    h2.person { (person.name.as_deref().unwrap_or("(no name)")) }
                    dl {
                        @if let Some(e) = &person.email { dt { "E-mail" } dd { (e) } }
                        @if let Some(p) = &person.phone { dt { "Phone" } dd { (p) } }
                        @if let Some(tz) = &person.timezone { dt { "Time zone" } dd { (tz) } }
                    }
                    @if !person.card.is_empty() {
                        h3 { "Their insight card" }
                        ul.card { @for line in &person.card { li { (line) } } }
                    }
                    h3 { "Timeline" }
                    @if person.timeline.is_empty() { p { "Nothing yet." } }
                    ol.timeline {
                        @for entry in &person.timeline {
                            li class={ "entry " (match entry.kind { super::TimelineKind::Call => "call", _ => "meeting" }) } {
                                time datetime=(entry.at.to_rfc3339()) { (entry.at.format("%Y-%m-%d %H:%M UTC")) }
                                " " strong { (entry.title) }
                                " · " span.muted { (entry.detail) }
                            }
                        }
                    }
                }
            }
        },
    )
}

pub(crate) fn not_found(page: &Page<'_>, what: &str) -> Markup {
    layout(page, "Not found", html! { h1 { "Not found" } p { (what) } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlighting_escapes_everything_the_sender_wrote() {
        let html =
            highlight(r#"{"name": "<img src=x onerror=\"alert(1)\">", "n": -1.5e3, "ok": true}"#);
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=\\&quot;alert(1)\\&quot;&gt;"),
            "{html}"
        );
        assert!(
            html.contains(r#"<span class="k">&quot;name&quot;</span>"#),
            "{html}"
        );
        assert!(html.contains(r#"<span class="n">-1.5e3</span>"#), "{html}");
        assert!(html.contains(r#"<span class="l">true</span>"#), "{html}");
    }
}
