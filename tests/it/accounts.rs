//! First owner, login, backoff after repeated failures.

use chrono::Duration;

use admit_api::*;

use crate::both_backends;
use crate::fixture::{Fixture, PASSWORD};

both_backends!(
    first_owner_only_once,
    login_and_lockout,
    first_owner_race_has_one_winner
);

async fn first_owner_only_once(f: Fixture) {
    assert!(!f.admit.needs_setup().await.unwrap());
    let again = f
        .admit
        .create_first_owner(
            &NewUserInput {
                username: "mallory".into(),
                display_name: String::new(),
                password: PASSWORD.into(),
                role: String::new(),
            },
            None,
            f.now,
        )
        .await;
    assert!(matches!(again, Err(ApiError::Conflict { .. })), "{again:?}");
    assert_eq!(f.count("users").await, 1);
    // The owner's creation is audited and queued for sync in the same transaction.
    assert_eq!(
        f.scalar("select count(*) from audit_log where action = 'user.create_first_owner'")
            .await,
        1
    );
    assert_eq!(
        f.scalar("select count(*) from outbox where entity = 'user'")
            .await,
        1
    );
    // The hash is argon2id and the password itself is nowhere.
    assert_eq!(
        f.scalar("select count(*) from users where password_hash like '$argon2id$%'")
            .await,
        1
    );
    let audit = f.admit.list_audit(&f.owner, 100).await.unwrap();
    assert!(
        !serde_json::to_string(&audit).unwrap().contains(PASSWORD),
        "the audit log never holds a password"
    );
}

async fn first_owner_race_has_one_winner(f: Fixture) {
    // The fixture's store has its owner already; race on an empty one of the same kind.
    let (admit, _db) = f.fresh().await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let admit = admit.clone();
        tasks.push(tokio::spawn(async move {
            let input = NewUserInput {
                username: format!("owner{i}"),
                display_name: String::new(),
                password: PASSWORD.into(),
                role: String::new(),
            };
            admit
                .create_first_owner(&input, None, crate::fixture::t0())
                .await
        }));
    }
    let mut winners = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => winners += 1,
            Err(ApiError::Conflict { .. }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(admit.store().count_users().await.unwrap(), 1);
}

async fn login_and_lockout(f: Fixture) {
    let a = &f.admit;
    let now = f.now;
    let s = a.login("OWNER", PASSWORD, None, now).await.unwrap();
    assert_eq!(s.user.username.as_str(), "owner");
    assert_eq!(
        a.login("owner", "wrong password", None, now)
            .await
            .unwrap_err(),
        ApiError::Unauthenticated
    );
    assert_eq!(
        a.login("nobody", PASSWORD, None, now).await.unwrap_err(),
        ApiError::Unauthenticated
    );
    assert_eq!(
        a.login(&"x".repeat(1 << 20), PASSWORD, None, now)
            .await
            .unwrap_err(),
        ApiError::Unauthenticated
    );
    // One failure so far; four more reach the limit and lock the account.
    for i in 0..3 {
        assert_eq!(
            a.login("owner", "wrong", None, now).await.unwrap_err(),
            ApiError::Unauthenticated,
            "try {i}"
        );
    }
    let locked = a.login("owner", "wrong", None, now).await.unwrap_err();
    let ApiError::LockedOut { until } = locked else {
        panic!("expected lockout, got {locked:?}")
    };
    assert_eq!(until, now + Duration::seconds(30));
    // While locked even the right password is refused, without being checked.
    assert!(matches!(
        a.login("owner", PASSWORD, None, now + Duration::seconds(10))
            .await,
        Err(ApiError::LockedOut { .. })
    ));
    // Another failure after the lock doubles it.
    let later = now + Duration::seconds(31);
    let ApiError::LockedOut { until } = a.login("owner", "wrong", None, later).await.unwrap_err()
    else {
        panic!()
    };
    assert_eq!(until, later + Duration::seconds(60));
    // After the lock, the right password works and resets the count.
    let after = later + Duration::seconds(61);
    a.login("owner", PASSWORD, None, after).await.unwrap();
    assert_eq!(
        a.login("owner", "wrong", None, after).await.unwrap_err(),
        ApiError::Unauthenticated
    );
    // A deactivated user cannot log in.
    let door = f.user("dora", "door").await;
    let u = a
        .list_users(&f.owner)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.id == door.user.id)
        .unwrap();
    a.update_user(
        &f.owner,
        &u.id.to_string(),
        &UpdateUserInput {
            expected_version: u.meta.version,
            active: Some(false),
            ..Default::default()
        },
        now,
    )
    .await
    .unwrap();
    assert_eq!(
        a.login("dora", PASSWORD, None, now).await.unwrap_err(),
        ApiError::Unauthenticated
    );
    // Nor can their stale session still act.
    let mut stale = door.clone();
    stale.user.active = false;
    assert!(matches!(
        a.list_events(&stale).await,
        Err(ApiError::Forbidden { .. })
    ));
}
