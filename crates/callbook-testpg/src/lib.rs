#![doc = include_str!("../README.md")]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Where to find the binaries, and who must run them.
struct Binaries {
    bin: PathBuf,
    as_postgres_user: bool,
}

fn find_binaries() -> Result<Binaries, String> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| {
            "PostgreSQL is not installed (no /usr/lib/postgresql; apt-get install postgresql)"
                .to_owned()
        })?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists() && p.join("postgres").exists())
        .collect();
    candidates.sort();
    let bin = candidates
        .pop()
        .ok_or("no initdb/postgres under /usr/lib/postgresql/*/bin")?;
    // PostgreSQL refuses to run as root.
    let as_postgres_user = is_root();
    Ok(Binaries {
        bin,
        as_postgres_user,
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(54329)
}

/// A PostgreSQL server for tests.
pub struct Server {
    base: String,
    cluster: Option<Cluster>,
}

struct Cluster {
    bins: Binaries,
    data: PathBuf,
    port: u16,
    /// More `-c name=value` settings (TLS).
    settings: Vec<String>,
    child: Mutex<Option<Child>>,
    _dir: tempfile::TempDir,
}

static SHARED: OnceLock<Option<Server>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// Why the tests cannot run; panics instead when PostgreSQL is required.
fn unavailable(why: &str) {
    if std::env::var("CALLBOOK_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        panic!("PostgreSQL is required (CALLBOOK_REQUIRE_POSTGRES=1) but unavailable: {why}");
    }
    eprintln!("skipping PostgreSQL tests: {why}");
}

impl Server {
    /// The server shared by this test process, started on first use. `None` (after saying
    /// why) when PostgreSQL is unavailable and not required.
    pub fn shared() -> Option<&'static Server> {
        SHARED
            .get_or_init(|| {
                if let Ok(url) = std::env::var("CALLBOOK_TEST_DATABASE_URL") {
                    return Some(Server {
                        base: url
                            .trim_end_matches('/')
                            .rsplit_once('/')
                            .map_or(url.clone(), |(b, _)| b.to_owned()),
                        cluster: None,
                    });
                }
                match Self::start_private() {
                    Ok(s) => Some(s),
                    Err(why) => {
                        unavailable(&why);
                        None
                    }
                }
            })
            .as_ref()
    }

    /// A cluster of its own (for tests that stop and restart it). `None` when unavailable.
    pub fn private() -> Option<Server> {
        match Self::start_private() {
            Ok(s) => Some(s),
            Err(why) => {
                unavailable(&why);
                None
            }
        }
    }

    /// A cluster of its own that accepts TCP connections over TLS only (`hostssl` in
    /// `pg_hba.conf`), with a certificate for `localhost` and `127.0.0.1` signed by a throwaway
    /// CA. `None` when unavailable.
    pub fn private_tls() -> Option<(Server, TlsFiles)> {
        match Self::start_private_with(true) {
            Ok((s, tls)) => Some((s, tls.expect("TLS files"))),
            Err(why) => {
                unavailable(&why);
                None
            }
        }
    }

    fn start_private() -> Result<Server, String> {
        Self::start_private_with(false).map(|(s, _)| s)
    }

    fn start_private_with(tls: bool) -> Result<(Server, Option<TlsFiles>), String> {
        let bins = find_binaries()?;
        remove_stale_clusters();
        let dir = tempfile::Builder::new()
            .prefix("callbook-pg-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let data = dir.path().join("data");
        std::fs::create_dir(&data).map_err(|e| format!("data dir: {e}"))?;
        if bins.as_postgres_user {
            for p in [dir.path(), data.as_path()] {
                let status = Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(p)
                    .status()
                    .map_err(|e| format!("chown: {e}"))?;
                if !status.success() {
                    return Err("cannot hand the data directory to the postgres user".into());
                }
            }
        }
        let out = command(&bins, "initdb")
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let mut settings = Vec::new();
        let tls_files = if tls {
            let files = make_certificates(dir.path())?;
            if bins.as_postgres_user {
                let status = Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&files.server_key)
                    .arg(&files.server_cert)
                    .status()
                    .map_err(|e| format!("chown: {e}"))?;
                if !status.success() {
                    return Err("cannot hand the TLS key to the postgres user".into());
                }
            }
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            )
            .map_err(|e| format!("pg_hba.conf: {e}"))?;
            settings.extend([
                "ssl=on".to_owned(),
                format!("ssl_cert_file={}", files.server_cert.display()),
                format!("ssl_key_file={}", files.server_key.display()),
            ]);
            Some(files)
        } else {
            None
        };
        let port = free_port();
        let cluster = Cluster {
            bins,
            data,
            port,
            settings,
            child: Mutex::new(None),
            _dir: dir,
        };
        cluster.start()?;
        Ok((
            Server {
                base: format!("postgres://postgres@127.0.0.1:{port}"),
                cluster: Some(cluster),
            },
            tls_files,
        ))
    }

    /// The URL of the `postgres` maintenance database.
    pub fn admin_url(&self) -> String {
        format!("{}/postgres", self.base)
    }

    /// Creates an empty database and returns its URL.
    pub fn fresh_database(&self) -> String {
        let name = format!(
            "callbook_{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        self.psql(&format!("CREATE DATABASE {name}"));
        format!("{}/{name}", self.base)
    }

    /// Runs one SQL statement on the maintenance database with `psql`.
    pub fn psql(&self, sql: &str) {
        let out = Command::new("psql")
            .arg(self.admin_url())
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
            .output()
            .unwrap_or_else(|e| panic!("psql: {e}"));
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops the server (fast shutdown). Only for a [`private`](Self::private) cluster.
    pub fn stop(&self) {
        if let Some(c) = &self.cluster {
            c.stop();
        }
    }

    /// Starts it again on the same port and data.
    pub fn start(&self) {
        if let Some(c) = &self.cluster {
            c.start().expect("restart postgres");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn command(bins: &Binaries, program: &str) -> Command {
    let path = bins.bin.join(program);
    if bins.as_postgres_user {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
            .arg(path);
        c
    } else {
        Command::new(path)
    }
}

impl Cluster {
    fn start(&self) -> Result<(), String> {
        let bins = &self.bins;
        let data = self.data.clone();
        let port = self.port;
        // The server must die with the test process even though statics are never dropped: a
        // parent-death signal does it. It fires when the *thread* that spawned it ends, so the
        // spawning thread lives as long as the process.
        let (tx, rx) = std::sync::mpsc::channel();
        let mut cmd = Command::new("setpriv");
        cmd.arg("--pdeathsig=TERM");
        if bins.as_postgres_user {
            cmd.args(["--reuid=postgres", "--regid=postgres", "--init-groups"]);
        }
        cmd.arg(bins.bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", data.display()))
            .args(["-c", "max_connections=300", "-c", "fsync=on"]);
        for setting in &self.settings {
            cmd.arg("-c").arg(setting);
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        std::thread::spawn(move || {
            let _ = tx.send(cmd.spawn());
            loop {
                std::thread::park();
            }
        });
        let child = rx
            .recv()
            .map_err(|_| "spawner thread died".to_owned())?
            .map_err(|e| format!("cannot start postgres: {e}"))?;
        *self.child.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(bins.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("postgres did not accept connections within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&self) {
        let child = self.child.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut child) = child {
            // SIGINT: fast shutdown. `setpriv` has exec'd, so the PID is the postmaster's.
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

/// The certificates of a [`Server::private_tls`] cluster.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA that signed the server's certificate (for `sslrootcert`).
    pub ca_cert: PathBuf,
    /// The server's certificate, for `localhost` and `127.0.0.1`.
    pub server_cert: PathBuf,
    server_key: PathBuf,
}

/// A CA and a server certificate signed by it, made with the `openssl` command.
fn make_certificates(dir: &Path) -> Result<TlsFiles, String> {
    let files = TlsFiles {
        ca_cert: dir.join("ca.crt"),
        server_cert: dir.join("server.crt"),
        server_key: dir.join("server.key"),
    };
    let ca_key = dir.join("ca.key");
    let csr = dir.join("server.csr");
    let ext = dir.join("server.ext");
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| format!("openssl extensions: {e}"))?;
    let p = |path: &Path| path.display().to_string();
    let steps: [Vec<String>; 3] = [
        [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=callbook test CA",
            "-keyout",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([p(&ca_key), "-out".into(), p(&files.ca_cert)])
        .collect(),
        [
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([p(&files.server_key), "-out".into(), p(&csr)])
        .collect(),
        ["x509", "-req", "-days", "2", "-CAcreateserial", "-in"]
            .iter()
            .map(|s| (*s).to_owned())
            .chain([
                p(&csr),
                "-CA".into(),
                p(&files.ca_cert),
                "-CAkey".into(),
                p(&ca_key),
                "-extfile".into(),
                p(&ext),
                "-out".into(),
                p(&files.server_cert),
            ])
            .collect(),
    ];
    for args in steps {
        let out = Command::new("openssl")
            .args(&args)
            .output()
            .map_err(|e| format!("openssl is needed for the TLS cluster: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "openssl {}: {}",
                args[0],
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    // PostgreSQL refuses a key that others can read.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&files.server_key, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("key mode: {e}"))?;
    Ok(files)
}

/// Data directories of earlier runs whose server is gone.
fn remove_stale_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_ours = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("callbook-pg-"));
        if is_ours && !server_running(&path.join("data")) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

fn server_running(data: &Path) -> bool {
    let Ok(pid) = std::fs::read_to_string(data.join("postmaster.pid")) else {
        // Being set up right now by another process, or already dead: only old ones go.
        return data
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| t.elapsed().unwrap_or_default() < Duration::from_secs(600))
            .unwrap_or(false);
    };
    let pid = pid.lines().next().unwrap_or_default().trim();
    !pid.is_empty() && Path::new(&format!("/proc/{pid}")).exists()
}
