//! Sync over HTTPS: a server with a self-signed certificate, a device told to trust it, and
//! devices that do not.

use admit_sync::{SyncClient, SyncError, SyncOptions};
use admit_testkit::TestSqlite;

use crate::sync_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_device_pairs_and_syncs_over_tls_with_a_certificate_it_was_told_to_trust() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let server = Server::start_with(Some(admit_server::TlsConfig {
        cert: cert_path,
        key: key_path,
    }))
    .await;
    assert!(server
        .instance
        .as_ref()
        .unwrap()
        .url
        .starts_with("https://"));
    let (event, tt, quota, list) = server.event(20).await;

    // Trusting the server's certificate, a till syncs and sells over HTTPS.
    let till = Device::with(
        &server,
        "till",
        "box_office",
        SyncOptions {
            extra_root_pem: Some(cert.cert.pem()),
            ..options(5)
        },
    )
    .await;
    let first = till.sync().await;
    assert!(first.downloaded > 0 && first.units_moved == 5, "{first:?}");
    let (_, secret) = till.sell_one(&event, &tt).await.unwrap();
    assert!(till.scan(&list, &secret, "till-1").await.ok);
    let second = till.sync().await;
    assert!(second.uploaded >= 3, "{second:?}");
    assert_eq!(
        till.picture(event.id, &list).await,
        picture(server.admit.store(), event.id, &list).await
    );
    assert_units_add_up(&server, &quota, &[&till]).await;

    // A device that does not trust it is told so, typed, and not as being offline.
    let db = TestSqlite::new();
    let store = admit_store::open(db.path().to_str().unwrap())
        .await
        .unwrap();
    let (_, token) = server.pair("stranger", "door").await;
    let url = format!("https://localhost:{}", server.addr().port());
    let stranger = SyncClient::new(&url, &token, store.clone(), SyncOptions::default()).unwrap();
    let err = stranger.sync_once().await.unwrap_err();
    assert!(matches!(err, SyncError::Tls(_)), "{err:?}");
    assert!(!err.is_transient());
    assert!(err.to_string().contains("certificate"), "{err}");

    // Trusting some other certificate is no better.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let wrong = SyncClient::new(
        &url,
        &token,
        store.clone(),
        SyncOptions {
            extra_root_pem: Some(other.cert.pem()),
            ..SyncOptions::default()
        },
    )
    .unwrap();
    let err = wrong.sync_once().await.unwrap_err();
    assert!(matches!(err, SyncError::Tls(_)), "{err:?}");

    // A root that is not a certificate is a settings error when the client is made.
    let err = SyncClient::new(
        &url,
        &token,
        store,
        SyncOptions {
            extra_root_pem: Some("not a certificate".into()),
            ..SyncOptions::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, SyncError::Settings(_)), "{err:?}");
}
