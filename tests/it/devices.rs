//! Devices, pairing codes and bearer tokens through the use cases, on both backends.

use chrono::Duration;

use admit_api::*;

use crate::both_backends;
use crate::fixture::{Fixture, PASSWORD};

both_backends!(
    pairing_makes_a_device_that_acts_with_its_own_user,
    codes_are_good_once_and_until_they_expire,
    revoking_a_device_refuses_its_token_and_user,
    login_tokens_expire_and_end_at_logout,
    bad_input_pairs_nothing,
);

fn code_input(name: &str, role: &str) -> PairingCodeInput {
    PairingCodeInput {
        name: name.into(),
        role: role.into(),
        expires_in_minutes: None,
    }
}

async fn pairing_makes_a_device_that_acts_with_its_own_user(f: Fixture) {
    let a = &f.admit;
    let code = a
        .create_pairing_code(&f.owner, &code_input("Till 1", "kiosk"), f.now)
        .await
        .unwrap();
    assert_eq!(code.expires_at, f.at(DEFAULT_PAIRING_MINUTES));
    assert!(
        !format!("{code:?}").contains(&code.code),
        "codes are redacted"
    );
    // The code is stored only as a hash.
    assert_eq!(
        f.scalar(&format!(
            "select count(*) from pairing_codes where device_name like '%{}%'",
            &code.code[..4]
        ))
        .await,
        0
    );
    let paired = a
        .pair_device(
            &PairInput {
                code: code.code.clone(),
            },
            f.at(1),
        )
        .await
        .unwrap();
    assert!(!format!("{paired:?}").contains(&paired.token));
    assert_eq!(paired.device.name.as_str(), "Till 1");

    let s = a.session_for_token(&paired.token, f.at(2)).await.unwrap();
    assert_eq!(s.device_id, Some(paired.device.id));
    assert_eq!(s.user.id, paired.device.user_id);
    // A kiosk sells, so its user is box office.
    assert_eq!(s.user.role, admit_core::role::Role::BoxOffice);
    let setup = f.event(10, 10).await;
    let order = a
        .sell(&s, &setup.sale(&[(&setup.a, 1)]), f.at(3))
        .await
        .unwrap();
    assert_eq!(order.order.device_id, Some(paired.device.id));
    assert_eq!(order.order.created_by, paired.device.user_id);
    // Its service user cannot log in with a password.
    assert_eq!(
        a.login(s.user.username.as_str(), "", None, f.at(3))
            .await
            .unwrap_err(),
        ApiError::Unauthenticated
    );
    let devices = a.list_devices(&f.owner).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].id, paired.device.id);
    assert_eq!(devices[0].created_by, f.owner.user.id);
    // Only owners manage devices.
    assert!(matches!(
        a.list_devices(&s).await,
        Err(ApiError::Forbidden { .. })
    ));
}

async fn codes_are_good_once_and_until_they_expire(f: Fixture) {
    let a = &f.admit;
    let code = a
        .create_pairing_code(
            &f.owner,
            &PairingCodeInput {
                expires_in_minutes: Some(5),
                ..code_input("Door", "door")
            },
            f.now,
        )
        .await
        .unwrap();
    let input = PairInput {
        code: code.code.clone(),
    };
    let before = f.snapshot().await;
    let late = a.pair_device(&input, f.at(5)).await.unwrap_err();
    assert!(
        matches!(&late, ApiError::Invalid { field, message } if field == "code" && message.contains("expired")),
        "{late:?}"
    );
    assert_eq!(f.snapshot().await, before, "an expired code writes nothing");

    a.pair_device(&input, f.at(4)).await.unwrap();
    let before = f.snapshot().await;
    let again = a.pair_device(&input, f.at(4)).await.unwrap_err();
    assert!(
        matches!(&again, ApiError::Invalid { field, message } if field == "code" && message.contains("used")),
        "{again:?}"
    );
    assert_eq!(f.snapshot().await, before, "a used code writes nothing");

    // Racing devices: one pairs.
    let code = a
        .create_pairing_code(&f.owner, &code_input("Till", "box_office"), f.now)
        .await
        .unwrap();
    let input = PairInput { code: code.code };
    let tries = (0..4).map(|_| a.pair_device(&input, f.at(1)));
    let won = futures::future::join_all(tries)
        .await
        .into_iter()
        .filter(Result::is_ok)
        .count();
    assert_eq!(won, 1);
    assert_eq!(f.count("devices").await, 2);
}

async fn revoking_a_device_refuses_its_token_and_user(f: Fixture) {
    let a = &f.admit;
    let code = a
        .create_pairing_code(&f.owner, &code_input("Till", "box_office"), f.now)
        .await
        .unwrap();
    let paired = a
        .pair_device(&PairInput { code: code.code }, f.now)
        .await
        .unwrap();
    let id = paired.device.id.to_string();
    let manager = f.user("mia", "manager").await;
    assert!(matches!(
        a.revoke_device(&manager, &id, f.at(1)).await,
        Err(ApiError::Forbidden { .. })
    ));
    let revoked = a.revoke_device(&f.owner, &id, f.at(1)).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(f.at(1)));
    assert_eq!(
        a.session_for_token(&paired.token, f.at(1))
            .await
            .unwrap_err(),
        ApiError::Unauthenticated
    );
    let user = a
        .list_users(&f.owner)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.id == paired.device.user_id)
        .unwrap();
    assert!(!user.active, "the device's user is off too");
    assert!(matches!(
        a.revoke_device(&f.owner, &id, f.at(2)).await,
        Err(ApiError::Conflict { .. })
    ));
    assert!(matches!(
        a.revoke_device(&f.owner, "nope", f.at(2)).await,
        Err(ApiError::Invalid { .. })
    ));
    let audit = a.list_audit(&f.owner, 50).await.unwrap();
    let entry = audit.iter().find(|e| e.action == "device.revoke").unwrap();
    assert_eq!(entry.user_id, Some(f.owner.user.id));
}

async fn login_tokens_expire_and_end_at_logout(f: Fixture) {
    let a = &f.admit;
    let t = a.issue_login_token("owner", PASSWORD, f.now).await.unwrap();
    assert_eq!(t.expires_at, f.now + Duration::hours(LOGIN_TOKEN_HOURS));
    let s = a.session_for_token(&t.token, f.at(1)).await.unwrap();
    assert_eq!(s.user.id, f.owner.user.id);
    assert_eq!(s.device_id, None);
    assert_eq!(
        a.session_for_token(&t.token, t.expires_at)
            .await
            .unwrap_err(),
        ApiError::Unauthenticated,
        "expired"
    );
    a.logout(&t.token, f.at(2)).await.unwrap();
    assert_eq!(
        a.session_for_token(&t.token, f.at(2)).await.unwrap_err(),
        ApiError::Unauthenticated
    );
    // Wrong passwords still count towards the lockout.
    for _ in 0..5 {
        let _ = a
            .issue_login_token("owner", "wrong password", f.at(3))
            .await;
    }
    assert!(matches!(
        a.issue_login_token("owner", PASSWORD, f.at(3)).await,
        Err(ApiError::LockedOut { .. })
    ));
    // A deactivated user's tokens stop working.
    let clerk = f.user("clerk", "box_office").await;
    let ct = a.issue_login_token("clerk", PASSWORD, f.now).await.unwrap();
    a.update_user(
        &f.owner,
        &clerk.user.id.to_string(),
        &UpdateUserInput {
            expected_version: clerk.user.meta.version,
            active: Some(false),
            ..Default::default()
        },
        f.at(1),
    )
    .await
    .unwrap();
    assert_eq!(
        a.session_for_token(&ct.token, f.at(1)).await.unwrap_err(),
        ApiError::Unauthenticated
    );
    for junk in ["", "admit_", "Bearer x", &"a".repeat(100_000)] {
        assert_eq!(
            a.session_for_token(junk, f.now).await.unwrap_err(),
            ApiError::Unauthenticated
        );
    }
}

async fn bad_input_pairs_nothing(f: Fixture) {
    let a = &f.admit;
    let before = f.snapshot().await;
    for (input, field) in [
        (code_input("", "door"), "name"),
        (code_input("Door", "bar"), "role"),
        (
            PairingCodeInput {
                expires_in_minutes: Some(0),
                ..code_input("Door", "door")
            },
            "expires_in_minutes",
        ),
        (
            PairingCodeInput {
                expires_in_minutes: Some(MAX_PAIRING_MINUTES + 1),
                ..code_input("Door", "door")
            },
            "expires_in_minutes",
        ),
    ] {
        match a.create_pairing_code(&f.owner, &input, f.now).await {
            Err(ApiError::Invalid { field: got, .. }) => assert_eq!(got, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    for code in ["", "1234", "ABCD-EFGH-JKMN", &"Z".repeat(10_000)] {
        assert!(matches!(
            a.pair_device(&PairInput { code: code.into() }, f.now).await,
            Err(ApiError::Invalid { .. })
        ));
    }
    assert_eq!(f.snapshot().await, before);
}
