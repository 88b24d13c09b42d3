//! Feeds arbitrary bytes to the ticket-secret decoder. It must never panic, and no input may
//! verify except the genuine tickets in `seeds/` (any other success is a forgery).
#![no_main]

use std::sync::LazyLock;

use admit_core::id::{EventId, TicketId};
use admit_core::secret::{self, EventKeyring, KeyId, KeyringEntry, SigningKey};
use libfuzzer_sys::fuzz_target;

/// The same fixed keys as `seeds/`: key 1 is live, key 2 retired.
struct Fixture {
    event: EventId,
    ring: EventKeyring,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let event: EventId = "01960000-0000-7000-8000-000000000001".parse().unwrap();
    let live = SigningKey::from_secret_bytes(event, KeyId(1), &[1; 32]);
    let retired = SigningKey::from_secret_bytes(event, KeyId(2), &[2; 32]);
    let ring = EventKeyring::new(
        event,
        vec![
            live.keyring_entry(),
            KeyringEntry {
                retired: true,
                ..retired.keyring_entry()
            },
        ],
    )
    .unwrap();
    Fixture { event, ring }
});

/// The ticket ids of the seed tickets signed with the live key.
fn genuine(id: TicketId) -> bool {
    id.to_string()
        .starts_with("01960000-0000-7000-8000-0000000001")
}

fuzz_target!(|data: &[u8]| {
    let f = &*FIXTURE;
    if let Ok(claims) = secret::verify_bytes(data, &f.ring) {
        assert!(
            genuine(claims.ticket_id),
            "forged ticket verified: {claims:?}"
        );
    }
    let text = String::from_utf8_lossy(data);
    let _ = secret::peek_event_tag(&text);
    let _ = secret::secret_fingerprint(&text, f.event);
});
