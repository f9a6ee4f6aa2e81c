//! The harness itself: a cluster starts, hands out databases, stops and starts again.

#[test]
fn a_private_cluster_serves_fresh_databases_and_restarts() {
    let Some(server) = callbook_testpg::Server::private() else {
        return;
    };
    let url = server.fresh_database();
    assert!(url.starts_with("postgres://postgres@127.0.0.1:"), "{url}");
    server.psql("SELECT 1");
    server.stop();
    server.start();
    server.psql("SELECT 1");
}
