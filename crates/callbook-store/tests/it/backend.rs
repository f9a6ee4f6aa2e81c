//! The backends every shared test runs against: a SQLite file in a temp dir, and a fresh
//! database on a real PostgreSQL server (see `callbook-testpg`).

use callbook_store::{Durability, Store};
use std::sync::Arc;

/// Where a test's store lives; `open` may be called again to reopen the same data.
pub(crate) struct TestDb {
    url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub(crate) async fn open(&self) -> Arc<dyn Store> {
        callbook_store::open(&self.url, Durability::Process)
            .await
            .unwrap_or_else(|e| panic!("open {}: {e}", self.url))
    }
}

pub(crate) fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("tmp");
    TestDb {
        url: format!("sqlite://{}", dir.path().join("events.db").display()),
        _dir: Some(dir),
    }
}

/// `None` (the test passes vacuously, after a message) without PostgreSQL, unless
/// `CALLBOOK_REQUIRE_POSTGRES=1`.
pub(crate) fn postgres() -> Option<TestDb> {
    let server = callbook_testpg::Server::shared()?;
    Some(TestDb {
        url: server.fresh_database(),
        _dir: None,
    })
}

/// Runs each listed test, `async fn name(db: TestDb)`, once per backend.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::backend::sqlite()).await
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(db) = $crate::backend::postgres() {
                        super::$name(db).await
                    }
                }
            )*
        }
    };
}
