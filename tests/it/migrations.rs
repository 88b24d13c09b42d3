//! Both backends ship the same migration versions, and re-opening migrates nothing twice.

use admit_store::{migration_versions, Backend};

#[test]
fn sqlite_and_postgres_migrations_agree() {
    let s = migration_versions(Backend::Sqlite);
    let p = migration_versions(Backend::Postgres);
    assert!(!s.is_empty());
    assert_eq!(
        s, p,
        "every migration needs a twin with the same version in both folders"
    );
    // The files on disk agree too (a missing twin fails here before it fails at run time).
    let list = |d: &str| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../migrations")
            .join(d);
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(list("sqlite"), list("postgres"));
    for f in list("sqlite") {
        let text = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../migrations/sqlite")
                .join(&f),
        )
        .unwrap();
        assert!(!text.contains(&b'\r'), "{f} must use LF line endings");
    }
}

#[tokio::test]
async fn reopening_a_sqlite_file_keeps_its_data() {
    let db = admit_testkit::TestSqlite::new();
    let path = db.path().to_str().unwrap().to_string();
    {
        let store = admit_store::open(&path).await.unwrap();
        assert_eq!(store.count_users().await.unwrap(), 0);
        let admit = admit_api::Admit::new(store);
        admit
            .create_first_owner(
                &admit_api::NewUserInput {
                    username: "owner".into(),
                    display_name: String::new(),
                    password: crate::fixture::PASSWORD.into(),
                    role: String::new(),
                },
                None,
                crate::fixture::t0(),
            )
            .await
            .unwrap();
    }
    let store = admit_store::open(&path).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    assert_eq!(store.count_users().await.unwrap(), 1);
}

#[tokio::test]
async fn postgres_urls_open_postgres() {
    let db = admit_testkit::TestPostgres::new().await;
    let store = admit_store::open(db.url()).await.unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    // Opening twice runs the migrations once.
    let again = admit_store::open(db.url()).await.unwrap();
    assert_eq!(again.count_users().await.unwrap(), 0);
}
