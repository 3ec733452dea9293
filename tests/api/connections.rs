//! Hostile connections (B8, B14): a client trickling its headers is cut off,
//! thousands of idle sockets neither stop the server nor exhaust it, and
//! beyond the connection cap clients wait instead of breaking the process.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::process::ServerProcess;

on_both_backends!(
    a_client_trickling_its_headers_is_cut_off_while_others_are_served,
    beyond_the_connection_cap_clients_wait_until_idle_ones_are_dropped,
);

async fn a_client_trickling_its_headers_is_cut_off_while_others_are_served(backend: Backend) {
    let app = TestApp::builder(backend).env("HTTP_HEADER_TIMEOUT", "1s").spawn().await;
    let mut slow = TcpStream::connect(app.address.trim_start_matches("http://")).await.unwrap();
    slow.write_all(b"POST /subscriptions HTTP/1.1\r\nHost: bulletin\r\n").await.unwrap();
    let started = Instant::now();
    let mut closed = false;
    while started.elapsed() < Duration::from_secs(15) {
        if slow.write_all(b"X-Slow: 1\r\n").await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(300), slow.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(_)) => {} // an error response before the close
            Err(_still_open) => {}
        }
        assert_eq!(app.get("/health").await.status(), 200, "others are served meanwhile");
    }
    assert!(closed, "a client trickling headers for 15 s was never cut off");
    assert!(started.elapsed() >= Duration::from_millis(900), "cut off before the timeout: {:?}", started.elapsed());
}

/// Once, not per backend: the connections never reach the database, and two
/// at a time would need 40,000 file descriptors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_idle_connections_leave_the_server_answering() {
    const IDLE: usize = 10_000;
    // This process holds the client ends: make room for them.
    rlimit::increase_nofile_limit(u64::MAX).unwrap();
    let app = TestApp::builder(Backend::Sqlite).without_worker().spawn().await;
    let server = ServerProcess::start(&app, &[("HTTP_HEADER_TIMEOUT", "5min")]);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    assert_eq!(client.get(server.url("/health")).send().await.unwrap().status(), 200);
    let memory_before = server.resident_kib();

    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(TcpStream::connect(&server.bind).await.unwrap());
    }
    let all_accepted = async {
        while server.open_files() < IDLE {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), all_accepted).await.expect("the server accepts every connection");

    assert_eq!(client.get(server.url("/health")).send().await.unwrap().status(), 200);
    let signup = client.post(server.url("/subscriptions")).json(&serde_json::json!({ "email": "ann@example.org" }));
    assert_eq!(signup.send().await.unwrap().status(), 202);
    let grown_mib = server.resident_kib().saturating_sub(memory_before) / 1024;
    eprintln!("{IDLE} idle connections: +{grown_mib} MiB resident");
    assert!(grown_mib < 64, "{IDLE} idle connections cost {grown_mib} MiB");
    drop(idle);
}

async fn beyond_the_connection_cap_clients_wait_until_idle_ones_are_dropped(backend: Backend) {
    let app =
        TestApp::builder(backend).env("HTTP_MAX_CONNECTIONS", "20").env("HTTP_HEADER_TIMEOUT", "3s").spawn().await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(TcpStream::connect(&address).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    // A fresh client (its own connection) waits in the accept backlog while
    // the cap is reached, then is served once the idle ones time out.
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let response = client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "served at once although {} connections were open: the cap is not enforced",
        idle.len()
    );
}
