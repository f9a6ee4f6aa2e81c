//! The intake log's files: two append-only files beside the database (`<database>-intake`
//! and `<database>-intake2`) written in turn, and the format of their records (see
//! [`super::intake`] for why the log exists).
//!
//! Each record is framed as `len: u32 LE`, `crc32(body): u32 LE`, then `body` = `seq: u64 LE`,
//! `kind: u8`, payload. A record cut short by a crash (its `write` never finished, so it was
//! never acknowledged) fails its length or checksum and ends the log.

use crate::Error;
use crate::delivery::{AttemptRecord, DeliveryId, Lease, Outcome, PreClaim};
use crate::model::{EventId, NewEvent, ParseStatus, Provider};
use crate::search::Subject;
use chrono::{DateTime, Utc};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A finished attempt, as the writer records it.
#[derive(Debug)]
pub(super) struct Finished {
    pub(super) delivery: DeliveryId,
    /// The claim the attempt was made under; `None` in records of versions before leases
    /// were checked (their outcome applies whatever holds the delivery).
    pub(super) lease: Option<Lease>,
    pub(super) attempt: AttemptRecord,
    pub(super) outcome: Outcome,
}

/// What a record holds.
#[derive(Debug)]
pub(super) enum Item {
    Event(NewEvent),
    Finished(Finished),
}

/// An event without its search subjects (written by earlier versions; still read).
const KIND_EVENT: u8 = 1;
/// An event, then its search subjects.
const KIND_EVENT_SEARCHABLE: u8 = 4;
/// A finished attempt without its lease (written by earlier versions; still read).
const KIND_FINISHED: u8 = 2;
/// A finished attempt and the lease it was made under.
const KIND_FINISHED_LEASED: u8 = 3;
/// Framing before the body: length and checksum.
const FRAME: usize = 8;

/// Past this length the file being written hands over to the other one (once that one is
/// empty), and is emptied when the database holds all its records.
pub(super) const SWITCH_AT: u64 = if cfg!(test) { 64 << 10 } else { 16 << 20 };

/// One of the log's two files.
struct LogFile {
    /// Shared with a write in flight off the runtime (see [`IntakeLog::take_batch`]).
    file: Arc<File>,
    path: PathBuf,
    /// Bytes of whole records in the file.
    len: u64,
}

impl LogFile {
    fn io(&self, source: std::io::Error) -> Error {
        Error::Intake {
            path: self.path.clone(),
            source,
        }
    }

    /// Cuts the file to `len` bytes, where the next `write` goes.
    fn cut(&mut self, len: u64) -> Result<(), Error> {
        cut_to(&self.file, len).map_err(|e| self.io(e))?;
        self.len = len;
        Ok(())
    }
}

/// Cuts `file` to `len` bytes and puts its position there, where its next `write` goes.
fn cut_to(file: &File, len: u64) -> std::io::Result<()> {
    file.set_len(len)?;
    (&*file).seek(SeekFrom::Start(len)).map(drop)
}

/// The log: two files used in turn. Records are appended to one until it is long; then the
/// other takes the writes, and the long one is emptied once the database holds its records.
/// With one file, emptying it meant applying everything pending while new writes waited.
pub(super) struct IntakeLog {
    files: [LogFile; 2],
    /// The file batches are written to.
    active: usize,
    /// The last record in the other file, while the database may not hold all of its records.
    sealed_through: Option<u64>,
    /// Set while that file is being cut without the intake's lock.
    cutting: bool,
    /// The next record's sequence number.
    next_seq: u64,
    /// The last sequence number taken into a batch.
    taken_through: u64,
    /// The records of the batch being written.
    buf: Vec<u8>,
    /// The buffer a write in flight took, given back when it finishes (keeps its capacity).
    spare: Vec<u8>,
    /// Tests: how long each `write` takes longer, as on a slow disk.
    #[cfg(test)]
    pub(super) write_delay: std::time::Duration,
}

/// A batch taken out of the log to be written without the intake's lock: off the async
/// runtime, so that a slow disk holds up neither the runtime nor callers recording.
pub(super) struct BatchWrite {
    bytes: Vec<u8>,
    file: Arc<File>,
    /// Which of the log's files it goes to.
    to: usize,
    #[cfg(test)]
    delay: std::time::Duration,
}

impl BatchWrite {
    /// The `write` (blocking).
    pub(super) fn write(&self) -> std::io::Result<()> {
        #[cfg(test)]
        std::thread::sleep(self.delay);
        (&*self.file).write_all(&self.bytes)
    }
}

/// The truncation of the file no longer written (see [`IntakeLog::take_sealed_cut`]).
pub(super) struct SealedCut {
    file: Arc<File>,
    /// Which of the log's files it is.
    of: usize,
}

impl SealedCut {
    /// The truncation (blocking), with the file's position back at its start, where its
    /// next `write` goes once it takes writes again.
    pub(super) fn run(&self) -> std::io::Result<()> {
        cut_to(&self.file, 0)
    }
}

/// The records found at open that the database has not applied, in order.
pub(super) struct Recovered {
    pub(super) items: Vec<(u64, Item)>,
    /// Bytes dropped from the ends: records whose write never finished.
    pub(super) torn_bytes: u64,
    /// The files that had whole records after a damaged stretch: not a crash, damage.
    pub(super) damaged: Vec<Damaged>,
}

/// A log file found damaged: a stretch that fails its checksum with whole records after it. A
/// crash only ever cuts the end of a write, so this is damage (a disk, an editor, a copy cut
/// short), and every record around it was acknowledged. The file is copied aside untouched,
/// and the log goes on with the records that verify.
#[derive(Debug)]
pub(super) struct Damaged {
    /// Where the file was copied, as it was.
    pub(super) aside: PathBuf,
    /// Byte offsets (in the original file) where unreadable stretches begin.
    pub(super) at: Vec<u64>,
    /// Bytes that could not be read as records.
    pub(super) lost_bytes: u64,
}

/// What one file held at open.
struct Opened {
    file: LogFile,
    /// Its records after the applied one.
    items: Vec<(u64, Item)>,
    /// Its last record's sequence number.
    last: Option<u64>,
    torn_bytes: u64,
    damaged: Option<Damaged>,
}

impl IntakeLog {
    /// The log's first file: `<database>-intake`.
    #[cfg(test)]
    pub(super) fn path_for(database: &Path) -> PathBuf {
        Self::paths_for(database)[0].clone()
    }

    /// The log's files: `<database>-intake` and `<database>-intake2`.
    pub(super) fn paths_for(database: &Path) -> [PathBuf; 2] {
        ["-intake", "-intake2"].map(|suffix| {
            let mut path = database.as_os_str().to_owned();
            path.push(suffix);
            PathBuf::from(path)
        })
    }

    /// Opens (creating if needed) the log's files and reads the records after `applied`, the
    /// last sequence number the database holds. A torn last record is cut off.
    pub(super) fn open(database: &Path, applied: u64) -> Result<(Self, Recovered), Error> {
        let [first, second] = Self::paths_for(database);
        let first = open_file(first, applied)?;
        let second = open_file(second, applied)?;
        let last = first.last.max(second.last);
        // Writes go on in the file with the newest records; the other one is emptied once
        // the database holds what it has.
        let active = usize::from(second.last > first.last);
        let mut items = first.items;
        items.extend(second.items);
        items.sort_by_key(|(seq, _)| *seq);
        let recovered = Recovered {
            items,
            torn_bytes: first.torn_bytes + second.torn_bytes,
            damaged: first.damaged.into_iter().chain(second.damaged).collect(),
        };
        let lasts = [first.last, second.last];
        let files = [first.file, second.file];
        let sealed_through = (files[1 - active].len > 0).then(|| lasts[1 - active].unwrap_or(0));
        let last = last.unwrap_or(0).max(applied);
        let log = Self {
            files,
            active,
            sealed_through,
            cutting: false,
            next_seq: last + 1,
            taken_through: last,
            buf: Vec::with_capacity(64 * 1024),
            spare: Vec::with_capacity(64 * 1024),
            #[cfg(test)]
            write_delay: std::time::Duration::ZERO,
        };
        Ok((log, recovered))
    }

    /// Bytes of records in the files.
    pub(super) fn len(&self) -> u64 {
        self.files.iter().map(|f| f.len).sum()
    }

    /// Bytes of records in the file being written.
    pub(super) fn active_len(&self) -> u64 {
        self.files[self.active].len
    }

    /// Which file is being written (0 or 1).
    #[cfg(test)]
    pub(super) fn active_index(&self) -> usize {
        self.active
    }

    /// The last record of the file that is no longer written, while it is not emptied.
    pub(super) fn sealed_through(&self) -> Option<u64> {
        self.sealed_through
    }

    /// The sequence number the next record gets: every record below it is written, once
    /// the batch is.
    pub(super) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Bytes in the batch being written.
    pub(super) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Adds an event to the batch being written; returns its sequence number.
    pub(super) fn push_event(&mut self, e: &NewEvent) -> u64 {
        self.push(KIND_EVENT_SEARCHABLE, |b| {
            encode_event(b, e);
            encode_subjects(b, &e.subjects);
        })
    }

    /// Adds a finished attempt to the batch being written; returns its sequence number.
    pub(super) fn push_finished(&mut self, f: &Finished) -> u64 {
        match &f.lease {
            Some(lease) => self.push(KIND_FINISHED_LEASED, |b| {
                encode_finished(b, f);
                put_str(b, lease.as_str());
            }),
            None => self.push(KIND_FINISHED, |b| encode_finished(b, f)),
        }
    }

    fn push(&mut self, kind: u8, payload: impl FnOnce(&mut Vec<u8>)) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0; FRAME]);
        self.buf.extend_from_slice(&seq.to_le_bytes());
        self.buf.push(kind);
        payload(&mut self.buf);
        let body = &self.buf[start + FRAME..];
        let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
        let crc = crc32fast::hash(body);
        self.buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
        self.buf[start + 4..start + FRAME].copy_from_slice(&crc.to_le_bytes());
        seq
    }

    /// Writes the batch with one `write`. On failure the file is cut back to its last whole
    /// record, so that records appended later are not hidden behind a torn one.
    #[cfg(test)]
    pub(super) fn write_batch(&mut self) -> Result<(), Error> {
        match self.take_batch() {
            None => Ok(()),
            Some(batch) => {
                let written = batch.write();
                self.finish_batch(batch, written)
            }
        }
    }

    /// Takes the batch out, to be written with [`BatchWrite::write`] and then given back to
    /// [`Self::finish_batch`]; records pushed meanwhile go into the next batch. One batch at a
    /// time: the caller sees to that. A batch goes to the other file once the one being
    /// written is long and the other is empty: every record before it is then written (one
    /// batch at a time), so the long file's records end with the last batch's.
    pub(super) fn take_batch(&mut self) -> Option<BatchWrite> {
        if self.buf.is_empty() {
            return None;
        }
        if self.sealed_through.is_none() && self.files[self.active].len >= SWITCH_AT {
            self.sealed_through = Some(self.taken_through);
            self.active = 1 - self.active;
        }
        self.taken_through = self.next_seq - 1;
        let bytes = std::mem::replace(&mut self.buf, std::mem::take(&mut self.spare));
        Some(BatchWrite {
            bytes,
            file: Arc::clone(&self.files[self.active].file),
            to: self.active,
            #[cfg(test)]
            delay: self.write_delay,
        })
    }

    /// Accounts for a batch's `write`.
    pub(super) fn finish_batch(
        &mut self,
        batch: BatchWrite,
        written: std::io::Result<()>,
    ) -> Result<(), Error> {
        let n = batch.bytes.len() as u64;
        let mut bytes = batch.bytes;
        bytes.clear();
        self.spare = bytes;
        let file = &mut self.files[batch.to];
        match written {
            Ok(()) => {
                file.len += n;
                Ok(())
            }
            Err(e) => {
                let len = file.len;
                let _ = file.cut(len);
                Err(file.io(e))
            }
        }
    }

    /// Drops what is buffered (its writes went to the writer instead).
    pub(super) fn discard_buffer(&mut self) {
        self.buf.clear();
    }

    /// Empties the file that is no longer written, once the database holds every record in
    /// it (up to [`Self::sealed_through`]). A truncation the disk did not keep is harmless:
    /// the records that come back are all at or below the applied number and are skipped.
    #[cfg(test)]
    pub(super) fn empty_sealed(&mut self) -> Result<(), Error> {
        match self.take_sealed_cut() {
            None => Ok(()),
            Some(cut) => {
                let result = cut.run();
                self.sealed_emptied(cut, result)
            }
        }
    }

    /// [`Self::empty_sealed`] in two steps, so that the cut, which takes milliseconds for a
    /// long file, can run without the intake's lock: the file to cut (the other file keeps
    /// taking the writes until [`Self::sealed_emptied`]).
    pub(super) fn take_sealed_cut(&mut self) -> Option<SealedCut> {
        if self.sealed_through.is_none() || self.cutting {
            return None;
        }
        self.cutting = true;
        let of = 1 - self.active;
        Some(SealedCut {
            file: Arc::clone(&self.files[of].file),
            of,
        })
    }

    /// Accounts for a cut taken with [`Self::take_sealed_cut`].
    pub(super) fn sealed_emptied(
        &mut self,
        cut: SealedCut,
        result: std::io::Result<()>,
    ) -> Result<(), Error> {
        self.cutting = false;
        let file = &mut self.files[cut.of];
        result.map_err(|e| file.io(e))?;
        file.len = 0;
        self.sealed_through = None;
        Ok(())
    }

    /// Empties both files once the database holds every record in them. Sequence numbers go
    /// on from where they were.
    pub(super) fn truncate(&mut self) -> Result<(), Error> {
        for file in &mut self.files {
            file.cut(0)?;
        }
        self.sealed_through = None;
        Ok(())
    }

    /// Deletes the files, once the database holds every record in them: a store that does not
    /// write to the log leaves none behind. A deletion the disk did not keep is as harmless
    /// as a lost truncation.
    pub(super) fn remove(&self) -> Result<(), Error> {
        let mut result = Ok(());
        for file in &self.files {
            if let Err(e) = std::fs::remove_file(&file.path)
                && result.is_ok()
            {
                result = Err(file.io(e));
            }
        }
        result
    }

    /// Makes every later `write` fail, as a full or failing disk would.
    #[cfg(test)]
    pub(super) fn fail_writes(&mut self) {
        for file in &mut self.files {
            file.file = Arc::new(File::open("/dev/null").expect("/dev/null"));
        }
    }
}

/// Opens (creating if needed) one of the log's files and reads its records after `applied`.
fn open_file(path: PathBuf, applied: u64) -> Result<Opened, Error> {
    let io = |source| Error::Intake {
        path: path.clone(),
        source,
    };
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    // It holds the same personal data as the database.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(io)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io)?;
    let scan = read_records(&bytes, applied).map_err(|offset| {
        Error::Corrupt(format!(
            "intake log {}: the record at byte {offset} is whole (its checksum holds) but \
             does not decode: it was written by another version of callbook. It holds \
             acknowledged writes, so the store does not open and the file is left as it is. \
             Start the callbook version that wrote it once (it applies the log and empties \
             it), then this one",
            path.display()
        ))
    })?;
    let damaged = if scan.damage.is_empty() {
        None
    } else {
        Some(set_aside(&path, &mut file, &bytes, &scan)?)
    };
    let good = if damaged.is_some() {
        scan.records.iter().map(|r| r.bytes.len() as u64).sum()
    } else {
        scan.end
    };
    let last = scan.records.iter().map(|r| r.seq).max();
    let items = scan
        .records
        .into_iter()
        .filter(|r| r.seq > applied)
        .map(|r| (r.seq, r.item))
        .collect();
    let torn_bytes = if damaged.is_some() {
        0
    } else {
        bytes.len() as u64 - good
    };
    if torn_bytes > 0 {
        file.set_len(good).map_err(io)?;
    }
    file.seek(SeekFrom::Start(good)).map_err(io)?;
    Ok(Opened {
        file: LogFile {
            file: Arc::new(file),
            path,
            len: good,
        },
        items,
        last,
        torn_bytes,
        damaged,
    })
}

/// One whole record found in the file.
struct Record<'a> {
    seq: u64,
    item: Item,
    /// Its bytes, framing included.
    bytes: &'a [u8],
}

/// What reading a log's bytes found.
struct Scan<'a> {
    records: Vec<Record<'a>>,
    /// Where the last whole record ends.
    end: u64,
    /// Offsets of unreadable stretches that whole records follow.
    damage: Vec<u64>,
}

/// The whole record at `at`, if there is one there: its length, checksum and body hold.
/// `Err` when the checksum holds but the body does not decode.
fn record_at(bytes: &[u8], at: usize) -> Result<Option<Record<'_>>, u64> {
    let Some(frame) = bytes.get(at..at + FRAME) else {
        return Ok(None);
    };
    let len = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
    let crc = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
    // A real record holds at least its sequence number and kind; zeros (a file extended by a
    // crash before its data reached the disk) are no record.
    let Some(body) = bytes
        .get(at + FRAME..at + FRAME + len)
        .filter(|b| b.len() >= 9)
    else {
        return Ok(None);
    };
    if crc32fast::hash(body) != crc {
        return Ok(None);
    }
    let (seq, item) = decode(body).ok_or(at as u64)?;
    Ok(Some(Record {
        seq,
        item,
        bytes: &bytes[at..at + FRAME + len],
    }))
}

/// Where the next whole record after an unreadable one starts, if any does: one with a later
/// sequence number than `after` (and not absurdly later) whose checksum holds. Could a body
/// inside a torn record pass for one? Bodies are verified webhooks, JSON text, and a frame
/// starts with a length whose high bytes are zero, which JSON text never holds raw.
fn resync(bytes: &[u8], from: usize, after: u64) -> Option<usize> {
    const PLAUSIBLE: u64 = 1 << 32;
    (from..bytes.len().saturating_sub(FRAME + 9)).find(|&at| {
        let seq_bytes = &bytes[at + FRAME..at + FRAME + 8];
        let seq = u64::from_le_bytes(seq_bytes.try_into().unwrap_or([0; 8]));
        seq > after && seq - after < PLAUSIBLE && matches!(record_at(bytes, at), Ok(Some(_)))
    })
}

/// Reads whole records from the start of `bytes`. A record that is cut short or fails its
/// checksum with nothing whole after it is the end of the log: what a crash in the middle of
/// a write leaves, never acknowledged. One with whole records after it is damage: reading
/// goes on after it, and the offset is noted. A record whose checksum holds but which does
/// not decode was written by something else (another version): its offset is the error, since
/// dropping it would lose an acknowledged write. `applied` is the sequence number the
/// database holds, a floor for the records that can follow a damaged stretch.
fn read_records(bytes: &[u8], applied: u64) -> Result<Scan<'_>, u64> {
    let mut scan = Scan {
        records: Vec::new(),
        end: 0,
        damage: Vec::new(),
    };
    let mut at = 0usize;
    loop {
        if let Some(record) = record_at(bytes, at)? {
            at += record.bytes.len();
            scan.end = at as u64;
            scan.records.push(record);
            continue;
        }
        // Records below the applied number may stay in a log whose truncation was lost, so
        // with nothing read yet the floor is some way below it.
        let after = scan
            .records
            .last()
            .map_or(applied.saturating_sub(PLAUSIBLE_BACK), |r| r.seq);
        match resync(bytes, at + 1, after) {
            Some(next) => {
                scan.damage.push(at as u64);
                at = next;
            }
            None => return Ok(scan),
        }
    }
}

/// How far below the applied number the first record of a log may be numbered.
const PLAUSIBLE_BACK: u64 = 1 << 20;

/// Copies the damaged file aside, then rewrites the log with the records that verify.
fn set_aside(
    path: &Path,
    file: &mut File,
    bytes: &[u8],
    scan: &Scan<'_>,
) -> Result<Damaged, Error> {
    let io = |source| Error::Intake {
        path: path.to_path_buf(),
        source,
    };
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".damaged-{stamp}"));
    let aside = PathBuf::from(aside);
    let mut copy = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&aside)
        .map_err(io)?;
    copy.write_all(bytes)
        .and_then(|()| copy.sync_all())
        .map_err(io)?;
    let kept: Vec<u8> = scan
        .records
        .iter()
        .flat_map(|r| r.bytes.iter().copied())
        .collect();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.write_all(&kept))
        .and_then(|()| file.set_len(kept.len() as u64))
        .and_then(|()| file.sync_all())
        .map_err(io)?;
    Ok(Damaged {
        aside,
        at: scan.damage.clone(),
        lost_bytes: (bytes.len() - kept.len()) as u64,
    })
}

/// [`read_records`], for the fuzz targets.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_read(bytes: &[u8], applied: u64) -> crate::fuzzing::IntakeLogReading {
    match read_records(bytes, applied) {
        Ok(scan) => {
            assert!(scan.end as usize <= bytes.len(), "the end lies in the file");
            crate::fuzzing::IntakeLogReading {
                records: Some(scan.records.iter().map(|r| r.seq).collect()),
                end: scan.end,
                damage: scan.damage,
            }
        }
        Err(_) => crate::fuzzing::IntakeLogReading {
            records: None,
            end: 0,
            damage: Vec::new(),
        },
    }
}

/// A log holding an event with a pre-claim and a finished attempt.
#[cfg(feature = "fuzzing")]
pub(crate) fn sample() -> Vec<u8> {
    let mut event = NewEvent::new(
        "cal",
        Provider::Calendly,
        "calendly:invitee.created:https://api.calendly.com/x:2026-01-01T00:00:00Z",
        br#"{"event":"invitee.created"}"#.to_vec(),
    );
    event.event_type = Some("invitee.created".into());
    event.headers = vec![("user-agent".into(), "Calendly".into())];
    let mut claim = PreClaim::new("worker", Utc::now());
    let delivery = claim.add("crm");
    event.destinations = vec!["crm".into()];
    event.pre_claim = Some(claim.clone());
    let finished = Finished {
        delivery,
        lease: Some(claim.owner),
        attempt: AttemptRecord {
            attempted_at: Utc::now(),
            status_code: Some(200),
            latency_ms: 3,
            error: None,
            response_excerpt: Some("ok".into()),
        },
        outcome: Outcome::Succeeded,
    };
    let sink = || LogFile {
        file: Arc::new(tempfile_free_sink()),
        path: PathBuf::new(),
        len: 0,
    };
    let mut log = IntakeLog {
        files: [sink(), sink()],
        active: 0,
        sealed_through: None,
        cutting: false,
        next_seq: 1,
        taken_through: 0,
        buf: Vec::new(),
        spare: Vec::new(),
        #[cfg(test)]
        write_delay: std::time::Duration::ZERO,
    };
    log.push_event(&event);
    log.push_finished(&finished);
    std::mem::take(&mut log.buf)
}

/// A file nothing is written to (the sample only fills the buffer).
#[cfg(feature = "fuzzing")]
fn tempfile_free_sink() -> File {
    File::open("/dev/null").unwrap_or_else(|_| File::open(".").expect("a file to hold"))
}

fn decode(body: &[u8]) -> Option<(u64, Item)> {
    let mut r = Reader(body);
    let seq = r.u64()?;
    let item = match r.u8()? {
        KIND_EVENT => Item::Event(decode_event(&mut r)?),
        KIND_EVENT_SEARCHABLE => {
            let mut e = decode_event(&mut r)?;
            e.subjects = decode_subjects(&mut r)?;
            Item::Event(e)
        }
        KIND_FINISHED => Item::Finished(decode_finished(&mut r)?),
        KIND_FINISHED_LEASED => {
            let mut f = decode_finished(&mut r)?;
            f.lease = Some(Lease::from_stored(r.string()?));
            Item::Finished(f)
        }
        _ => return None,
    };
    r.0.is_empty().then_some((seq, item))
}

fn encode_event(b: &mut Vec<u8>, e: &NewEvent) {
    b.extend_from_slice(e.id.as_uuid().as_bytes());
    put_str(b, &e.source);
    put_str(b, e.provider.as_str());
    put_opt(b, e.event_type.as_deref(), put_str);
    put_str(b, &e.dedupe_key);
    put_time(b, e.received_at);
    put_opt(b, e.occurred_at, put_time);
    put_bytes(b, &e.body);
    put_u32(b, e.headers.len());
    for (name, value) in &e.headers {
        put_str(b, name);
        put_str(b, value);
    }
    match &e.parse_status {
        ParseStatus::Parsed => b.push(0),
        ParseStatus::Unparsed(why) => {
            b.push(1);
            put_str(b, why);
        }
    }
    put_u32(b, e.destinations.len());
    for d in &e.destinations {
        put_str(b, d);
    }
    put_opt(b, e.pre_claim.as_ref(), |b, c| {
        put_str(b, c.owner.as_str());
        put_time(b, c.until);
        put_u32(b, c.deliveries.len());
        for (destination, id) in &c.deliveries {
            put_str(b, destination);
            b.extend_from_slice(id.as_uuid().as_bytes());
        }
    });
}

fn encode_subjects(b: &mut Vec<u8>, subjects: &[Subject]) {
    put_u32(b, subjects.len());
    for s in subjects {
        let (kind, value) = match s {
            Subject::Email(v) => (0, v),
            Subject::Phone(v) => (1, v),
        };
        b.push(kind);
        put_str(b, value);
    }
}

fn decode_subjects(r: &mut Reader<'_>) -> Option<Vec<Subject>> {
    let mut subjects = Vec::new();
    for _ in 0..r.u32()? {
        subjects.push(match r.u8()? {
            0 => Subject::Email(r.string()?),
            1 => Subject::Phone(r.string()?),
            _ => return None,
        });
    }
    Some(subjects)
}

fn decode_event(r: &mut Reader<'_>) -> Option<NewEvent> {
    let id = EventId::from(r.uuid()?);
    let source = r.string()?;
    let provider: Provider = r.str()?.parse().ok()?;
    let event_type = r.opt(Reader::string)?;
    let dedupe_key = r.string()?;
    let received_at = r.time()?;
    let occurred_at = r.opt(Reader::time)?;
    let body = r.bytes()?.to_vec();
    let mut headers = Vec::new();
    for _ in 0..r.u32()? {
        headers.push((r.string()?, r.string()?));
    }
    let parse_status = match r.u8()? {
        0 => ParseStatus::Parsed,
        1 => ParseStatus::Unparsed(r.string()?),
        _ => return None,
    };
    let mut destinations = Vec::new();
    for _ in 0..r.u32()? {
        destinations.push(r.string()?);
    }
    let pre_claim = r.opt(|r| {
        let owner = Lease::from_stored(r.string()?);
        let mut claim = PreClaim::new("", r.time()?);
        claim.owner = owner;
        for _ in 0..r.u32()? {
            claim
                .deliveries
                .push((r.string()?, DeliveryId::from(r.uuid()?)));
        }
        Some(claim)
    })?;
    Some(NewEvent {
        id,
        source,
        provider,
        event_type,
        dedupe_key,
        received_at,
        occurred_at,
        body,
        headers,
        parse_status,
        subjects: Vec::new(),
        destinations,
        pre_claim,
    })
}

fn encode_finished(b: &mut Vec<u8>, f: &Finished) {
    b.extend_from_slice(f.delivery.as_uuid().as_bytes());
    let a = &f.attempt;
    put_time(b, a.attempted_at);
    put_opt(b, a.status_code, |b, s| {
        b.extend_from_slice(&s.to_le_bytes())
    });
    b.extend_from_slice(&a.latency_ms.to_le_bytes());
    put_opt(b, a.error.as_deref(), put_str);
    put_opt(b, a.response_excerpt.as_deref(), put_str);
    match f.outcome {
        Outcome::Succeeded => b.push(0),
        Outcome::Retry(at) => {
            b.push(1);
            put_time(b, at);
        }
        Outcome::Dead => b.push(2),
    }
}

fn decode_finished(r: &mut Reader<'_>) -> Option<Finished> {
    let delivery = DeliveryId::from(r.uuid()?);
    let attempt = AttemptRecord {
        attempted_at: r.time()?,
        status_code: r.opt(|r| r.take(2).map(|b| u16::from_le_bytes([b[0], b[1]])))?,
        latency_ms: r.u64()?,
        error: r.opt(Reader::string)?,
        response_excerpt: r.opt(Reader::string)?,
    };
    let outcome = match r.u8()? {
        0 => Outcome::Succeeded,
        1 => Outcome::Retry(r.time()?),
        2 => Outcome::Dead,
        _ => return None,
    };
    Some(Finished {
        delivery,
        lease: None,
        attempt,
        outcome,
    })
}

fn put_u32(b: &mut Vec<u8>, n: usize) {
    b.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_bytes(b: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(b, bytes.len());
    b.extend_from_slice(bytes);
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    put_bytes(b, s.as_bytes());
}

/// Seconds and nanoseconds: the exact instant, whatever its year.
fn put_time(b: &mut Vec<u8>, t: DateTime<Utc>) {
    b.extend_from_slice(&t.timestamp().to_le_bytes());
    b.extend_from_slice(&t.timestamp_subsec_nanos().to_le_bytes());
}

fn put_opt<T>(b: &mut Vec<u8>, value: Option<T>, put: impl FnOnce(&mut Vec<u8>, T)) {
    match value {
        None => b.push(0),
        Some(v) => {
            b.push(1);
            put(b, v);
        }
    }
}

/// Reads the fields `put_*` wrote; `None` when the bytes run out or do not decode.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)?.try_into().ok().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take(8)?.try_into().ok().map(u64::from_le_bytes)
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }

    fn string(&mut self) -> Option<String> {
        self.str().map(str::to_owned)
    }

    fn uuid(&mut self) -> Option<uuid::Uuid> {
        uuid::Uuid::from_slice(self.take(16)?).ok()
    }

    fn time(&mut self) -> Option<DateTime<Utc>> {
        let secs = i64::from_le_bytes(self.take(8)?.try_into().ok()?);
        let nanos = self.u32()?;
        DateTime::from_timestamp(secs, nanos)
    }

    fn opt<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        match self.u8()? {
            0 => Some(None),
            1 => read(self).map(Some),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u32) -> NewEvent {
        let mut e = NewEvent::new(
            "cal",
            Provider::Calendly,
            format!("invitee.created|u{n}"),
            format!(r#"{{"n":{n}}}"#).into_bytes(),
        );
        e.event_type = Some("invitee.created".into());
        e.occurred_at = Some(Utc::now());
        e.headers = vec![("user-agent".into(), "Calendly".into())];
        e.parse_status = ParseStatus::Unparsed("missing field `payload`".into());
        e.subjects = Subject::email("ana@example.com")
            .into_iter()
            .chain(Subject::phone("+55 11 91234-5678"))
            .collect();
        e.destinations = vec!["crm".into(), "audit".into()];
        let mut claim = PreClaim::new("worker-1", Utc::now());
        claim.deliveries.push(("crm".into(), DeliveryId::new()));
        e.pre_claim = Some(claim);
        e
    }

    fn finished() -> Finished {
        Finished {
            delivery: DeliveryId::new(),
            lease: Some(Lease::new("worker-1")),
            attempt: AttemptRecord {
                attempted_at: Utc::now(),
                status_code: Some(503),
                latency_ms: 12,
                error: Some("HTTP 503".into()),
                response_excerpt: Some("busy".into()),
            },
            outcome: Outcome::Retry(Utc::now()),
        }
    }

    fn same_event(a: &NewEvent, b: &NewEvent) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    #[test]
    fn records_read_back_exactly_as_written() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("x.db");
        let (e, f) = (event(1), finished());
        let (mut log, recovered) = IntakeLog::open(&db, 0).expect("open");
        assert!(recovered.items.is_empty());
        assert_eq!(log.push_event(&e), 1);
        assert_eq!(log.push_finished(&f), 2);
        log.write_batch().expect("write");
        drop(log);

        let (log, recovered) = IntakeLog::open(&db, 0).expect("reopen");
        assert_eq!(recovered.torn_bytes, 0);
        let [(1, Item::Event(e2)), (2, Item::Finished(f2))] = &recovered.items[..] else {
            panic!("unexpected records: {:?}", recovered.items);
        };
        assert!(same_event(&e, e2), "{e:?} != {e2:?}");
        assert_eq!(format!("{f:?}"), format!("{f2:?}"));
        assert_eq!(log.next_seq, 3);
    }

    #[test]
    fn an_event_record_of_the_version_before_search_still_reads() {
        let e = event(1);
        let mut body = 7u64.to_le_bytes().to_vec();
        body.push(KIND_EVENT);
        encode_event(&mut body, &e);
        let Some((7, Item::Event(read))) = decode(&body) else {
            panic!("the old record did not decode");
        };
        assert!(read.subjects.is_empty());
        let mut expected = e.clone();
        expected.subjects.clear();
        assert!(same_event(&expected, &read), "{expected:?} != {read:?}");
    }

    #[test]
    fn records_the_database_holds_are_skipped_and_numbering_goes_on() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("x.db");
        let (mut log, _) = IntakeLog::open(&db, 0).expect("open");
        for n in 0..5 {
            log.push_event(&event(n));
        }
        log.write_batch().expect("write");
        drop(log);
        let (log, recovered) = IntakeLog::open(&db, 3).expect("reopen");
        let seqs: Vec<u64> = recovered.items.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, [4, 5]);
        assert_eq!(log.next_seq, 6);
        // After a truncation the disk did not keep, the applied number still rules.
        let (log, recovered) = IntakeLog::open(&db, 9).expect("reopen");
        assert!(recovered.items.is_empty());
        assert_eq!(log.next_seq, 10);
    }

    /// Writes batches of ten events until a batch goes to the second file; returns the
    /// sequence number of the last record in the first.
    fn fill_first_file(log: &mut IntakeLog) -> u64 {
        loop {
            let before = log.next_seq;
            for n in 0..10 {
                log.push_event(&event(n));
            }
            log.write_batch().expect("write");
            if log.active == 1 {
                return before - 1;
            }
        }
    }

    #[test]
    fn a_long_file_hands_writes_over_to_the_other_and_is_emptied_on_request() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("x.db");
        let [first, second] = IntakeLog::paths_for(&db);
        let (mut log, _) = IntakeLog::open(&db, 0).expect("open");
        assert_eq!(log.sealed_through(), None);
        let through = fill_first_file(&mut log);
        let first_len = std::fs::metadata(&first).expect("first").len();
        assert!(first_len >= SWITCH_AT, "it switched at {first_len} bytes");
        assert_eq!(log.sealed_through(), Some(through));
        assert_eq!(
            log.active_len(),
            std::fs::metadata(&second).expect("second").len()
        );
        assert_eq!(log.len(), first_len + log.active_len());
        // The second file is written on, past its own length, while the first is not empty.
        while log.active_len() < 2 * SWITCH_AT {
            log.push_event(&event(0));
            log.write_batch().expect("write");
        }
        assert_eq!((log.active, log.sealed_through()), (1, Some(through)));
        log.empty_sealed().expect("empty");
        assert_eq!(std::fs::metadata(&first).expect("first").len(), 0);
        assert_eq!(log.sealed_through(), None);
        // The next batch goes back to the first file, at its start.
        let seq = log.push_event(&event(1));
        log.write_batch().expect("write");
        assert_eq!(log.active, 0);
        assert_eq!(log.sealed_through(), Some(seq - 1));
        drop(log);
        let (log, recovered) = IntakeLog::open(&db, seq - 1).expect("reopen");
        assert_eq!(recovered.items.len(), 1);
        assert_eq!(recovered.items[0].0, seq);
        assert_eq!((log.active, log.next_seq), (0, seq + 1));
        assert_eq!(
            log.sealed_through(),
            Some(seq - 1),
            "the second file is still to empty"
        );
    }

    #[test]
    fn records_left_in_both_files_are_read_back_in_order() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("x.db");
        let (mut log, _) = IntakeLog::open(&db, 0).expect("open");
        let through = fill_first_file(&mut log);
        log.push_finished(&finished());
        log.write_batch().expect("write");
        let last = log.next_seq - 1;
        drop(log);

        let (log, recovered) = IntakeLog::open(&db, 0).expect("reopen");
        let seqs: Vec<u64> = recovered.items.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, (1..=last).collect::<Vec<_>>());
        assert!(matches!(
            recovered.items.last(),
            Some((_, Item::Finished(_)))
        ));
        assert_eq!((log.active, log.sealed_through()), (1, Some(through)));
        assert_eq!(log.next_seq, last + 1);
        // With the first file's records applied, only the second's come back.
        let (_, recovered) = IntakeLog::open(&db, through).expect("reopen");
        assert_eq!(recovered.items.first().map(|(s, _)| *s), Some(through + 1));
        assert_eq!(recovered.items.len() as u64, last - through);
    }

    #[test]
    fn a_torn_last_record_is_cut_off_and_the_log_goes_on_after_the_whole_ones() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("x.db");
        let (mut log, _) = IntakeLog::open(&db, 0).expect("open");
        log.push_event(&event(1));
        log.push_event(&event(2));
        log.write_batch().expect("write");
        let whole = log.len();
        drop(log);
        // A crash in the middle of a write: the third record only partly reached the file.
        let mut partial = Vec::new();
        let (mut other, _) = IntakeLog::open(&dir.path().join("y.db"), 0).expect("open");
        other.push_event(&event(3));
        std::mem::swap(&mut partial, &mut other.buf);
        let path = IntakeLog::path_for(&db);
        let mut bytes = std::fs::read(&path).expect("read");
        bytes.extend_from_slice(&partial[..partial.len() / 2]);
        std::fs::write(&path, &bytes).expect("write");

        let (mut log, recovered) = IntakeLog::open(&db, 0).expect("reopen");
        assert_eq!(recovered.items.len(), 2);
        assert_eq!(recovered.torn_bytes, (partial.len() / 2) as u64);
        assert_eq!(std::fs::metadata(&path).expect("meta").len(), whole);
        log.push_event(&event(4));
        log.write_batch().expect("write");
        drop(log);
        let (_, recovered) = IntakeLog::open(&db, 0).expect("reopen");
        let seqs: Vec<u64> = recovered.items.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, [1, 2, 3], "the record after the cut is readable");
    }

    #[test]
    fn a_flipped_bit_ends_the_log_there() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("x.db");
        let (mut log, _) = IntakeLog::open(&db, 0).expect("open");
        log.push_event(&event(1));
        let first = log.buf.len();
        log.push_event(&event(2));
        log.write_batch().expect("write");
        drop(log);
        let path = IntakeLog::path_for(&db);
        let mut bytes = std::fs::read(&path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40;
        std::fs::write(&path, &bytes).expect("write");
        let (_, recovered) = IntakeLog::open(&db, 0).expect("reopen");
        assert_eq!(recovered.items.len(), 1);
        assert_eq!(recovered.torn_bytes, (bytes.len() - first) as u64);
    }

    /// Three records written; `damage` spoils the file; what open recovers.
    fn damaged_log(damage: impl FnOnce(&mut Vec<u8>, &[usize])) -> (tempfile::TempDir, Vec<u8>) {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("x.db");
        let (mut log, _) = IntakeLog::open(&db, 0).expect("open");
        let mut starts = Vec::new();
        for n in 1..=3 {
            starts.push(log.buf.len());
            log.push_event(&event(n));
        }
        log.write_batch().expect("write");
        drop(log);
        let path = IntakeLog::path_for(&db);
        let mut bytes = std::fs::read(&path).expect("read");
        damage(&mut bytes, &starts);
        std::fs::write(&path, &bytes).expect("write");
        (dir, bytes)
    }

    #[test]
    fn damage_in_the_middle_keeps_the_file_aside_and_applies_every_record_that_verifies() {
        // A flipped bit in the first record's body, and, separately, a spoilt length field:
        // whole records follow either, so neither is a crash's torn end.
        type Damage = fn(&mut Vec<u8>, &[usize]);
        let cases: [Damage; 2] = [
            |bytes, starts| bytes[starts[0] + FRAME + 20] ^= 0x01,
            |bytes, starts| bytes[starts[1]..starts[1] + 4].copy_from_slice(&[0xff; 4]),
        ];
        for (case, damage) in cases.into_iter().enumerate() {
            let (dir, original) = damaged_log(damage);
            let db = dir.path().join("x.db");
            let (mut log, recovered) = IntakeLog::open(&db, 0).expect("open");
            let seqs: Vec<u64> = recovered.items.iter().map(|(s, _)| *s).collect();
            let expected: &[u64] = if case == 0 { &[2, 3] } else { &[1, 3] };
            assert_eq!(seqs, expected, "case {case}: every record that verifies");
            let [damaged] = <[Damaged; 1]>::try_from(recovered.damaged).expect("damage reported");
            assert_eq!(
                std::fs::read(&damaged.aside).expect("copy"),
                original,
                "the file is kept aside as it was"
            );
            assert_eq!(damaged.at.len(), 1);
            assert_eq!(recovered.torn_bytes, 0);
            // The log goes on after the records it kept, and reads back clean.
            assert_eq!(log.push_event(&event(4)), 4);
            log.write_batch().expect("write");
            drop(log);
            let (_, again) = IntakeLog::open(&db, 0).expect("reopen");
            let seqs: Vec<u64> = again.items.iter().map(|(s, _)| *s).collect();
            let mut expected = expected.to_vec();
            expected.push(4);
            assert_eq!(seqs, expected);
            assert!(again.damaged.is_empty());
        }
    }

    #[test]
    fn a_whole_record_that_does_not_decode_stops_the_open() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("x.db");
        let (mut log, _) = IntakeLog::open(&db, 0).expect("open");
        log.push_event(&event(1));
        log.push(9, |b| b.extend_from_slice(b"from the future"));
        log.write_batch().expect("write");
        let len = log.len();
        drop(log);
        let Err(err) = IntakeLog::open(&db, 0) else {
            panic!("opened a log it cannot read");
        };
        assert!(err.to_string().contains("does not decode"), "{err}");
        let path = IntakeLog::path_for(&db);
        assert_eq!(
            std::fs::metadata(path).expect("log").len(),
            len,
            "nothing cut"
        );
    }

    #[test]
    fn garbage_never_panics() {
        let mut bytes = vec![0u8; 64];
        for i in 0..bytes.len() {
            bytes[i] = (i * 37 % 251) as u8;
            let _ = read_records(&bytes, 0);
        }
        // Zeros where records should be.
        assert_eq!(read_records(&[0; 100], 0).map(|r| r.end), Ok(0));
        // A frame claiming a huge body.
        let mut huge = u32::MAX.to_le_bytes().to_vec();
        huge.extend_from_slice(&[0; 12]);
        assert_eq!(read_records(&huge, 0).map(|r| r.end), Ok(0));
    }
}
