//! The server over real HTTP on a real port, on a fresh PostgreSQL database per test.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use admit_server::{Config, RunningServer};
use admit_testkit::TestPostgres;

use crate::fixture::PASSWORD;

/// One database, the servers on it, and an owner who can log in.
struct Site {
    pg: TestPostgres,
    servers: Vec<RunningServer>,
    http: reqwest::Client,
    db: sqlx::PgPool,
}

/// An answer: status, the `x-request-id` header and the JSON body (`Null` when empty).
struct Answer {
    status: StatusCode,
    request_id: Option<String>,
    body: Value,
    www_authenticate: Option<String>,
    retry_after: Option<String>,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    fn field(&self) -> &str {
        self.body["field"].as_str().unwrap_or("")
    }
}

fn config(url: &str) -> Config {
    let mut c = Config::for_database(url);
    c.listen = "127.0.0.1:0".parse().unwrap();
    c
}

impl Site {
    /// A database with its first owner (`owner`) and `n` servers on it.
    async fn new(n: usize) -> Site {
        let pg = TestPostgres::new().await;
        let store = admit_store::open(pg.url()).await.unwrap();
        admit_api::Admit::new(store)
            .create_first_owner(
                &admit_api::NewUserInput {
                    username: "owner".into(),
                    display_name: "Olga Owner".into(),
                    password: PASSWORD.into(),
                    role: String::new(),
                },
                None,
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let mut servers = Vec::new();
        for _ in 0..n {
            servers.push(admit_server::start(config(pg.url())).await.unwrap());
        }
        let db = sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect(pg.url())
            .await
            .unwrap();
        Site {
            pg,
            servers,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            db,
        }
    }

    fn url(&self, server: usize, path: &str) -> String {
        format!("{}{path}", self.servers[server].url())
    }

    async fn send(
        &self,
        server: usize,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.http.request(method, self.url(server, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        answer(req.send().await.unwrap()).await
    }

    async fn get(&self, path: &str, token: &str) -> Answer {
        self.send(0, Method::GET, path, Some(token), None).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.send(0, Method::POST, path, Some(token), Some(body))
            .await
    }

    async fn login(&self, username: &str, password: &str) -> Answer {
        self.send(
            0,
            Method::POST,
            "/api/v1/login",
            None,
            Some(json!({ "username": username, "password": password })),
        )
        .await
    }

    async fn owner(&self) -> String {
        let a = self.login("owner", PASSWORD).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        a.body["token"].as_str().unwrap().to_string()
    }

    /// A user of `role` made by the owner, logged in.
    async fn user(&self, owner: &str, username: &str, role: &str) -> String {
        let store = admit_store::open(self.pg.url()).await.unwrap();
        let admit = admit_api::Admit::new(store);
        let s = admit
            .session_for_token(owner, chrono::Utc::now())
            .await
            .unwrap();
        admit
            .create_user(
                &s,
                &admit_api::NewUserInput {
                    username: username.into(),
                    display_name: String::new(),
                    password: PASSWORD.into(),
                    role: role.into(),
                },
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        let a = self.login(username, PASSWORD).await;
        assert_eq!(a.status, StatusCode::OK);
        a.body["token"].as_str().unwrap().to_string()
    }

    /// A paired device of `role`: its id and token.
    async fn device(&self, owner: &str, name: &str, role: &str) -> (String, String) {
        let code = self
            .post(
                "/api/v1/pairing-codes",
                owner,
                json!({ "name": name, "role": role }),
            )
            .await;
        assert_eq!(code.status, StatusCode::CREATED, "{}", code.body);
        let paired = self
            .send(
                0,
                Method::POST,
                "/api/v1/pair",
                None,
                Some(json!({ "code": code.body["code"] })),
            )
            .await;
        assert_eq!(paired.status, StatusCode::CREATED, "{}", paired.body);
        (
            paired.body["device"]["id"].as_str().unwrap().to_string(),
            paired.body["token"].as_str().unwrap().to_string(),
        )
    }

    /// A published event with one ticket type (20.00 EUR) under a quota of `size`, made over
    /// HTTP: the event's id and the ticket type's id.
    async fn event(&self, owner: &str, size: i64) -> (String, String) {
        let e = self
            .post(
                "/api/v1/events",
                owner,
                json!({
                    "name": "Spring Gala", "venue": "Town Hall",
                    "starts_at": "2030-06-01T19:30:00+02:00",
                    "ends_at": "2030-06-01T23:00:00+02:00",
                    "time_zone": "Europe/Berlin"
                }),
            )
            .await;
        assert_eq!(e.status, StatusCode::CREATED, "{}", e.body);
        let event = e.body["id"].as_str().unwrap().to_string();
        let t = self
            .post(
                "/api/v1/ticket-types",
                owner,
                json!({ "event_id": event, "name": "Standing", "price_minor": 2000,
                        "currency": "EUR", "max_per_order": 10 }),
            )
            .await;
        assert_eq!(t.status, StatusCode::CREATED, "{}", t.body);
        let ticket_type = t.body["id"].as_str().unwrap().to_string();
        let q = self
            .post(
                "/api/v1/quotas",
                owner,
                json!({ "event_id": event, "name": "Capacity", "size": size,
                        "ticket_type_ids": [ticket_type] }),
            )
            .await;
        assert_eq!(q.status, StatusCode::CREATED, "{}", q.body);
        let p = self
            .post(&format!("/api/v1/events/{event}/publish"), owner, json!({}))
            .await;
        assert_eq!(p.status, StatusCode::OK, "{}", p.body);
        (event, ticket_type)
    }

    async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(&format!("select ({sql})::bigint"))
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    async fn shutdown(self) {
        for s in self.servers {
            s.shutdown().await.unwrap();
        }
    }
}

async fn answer(res: reqwest::Response) -> Answer {
    let status = res.status();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let request_id = header("x-request-id");
    let www_authenticate = header("www-authenticate");
    let retry_after = header("retry-after");
    let text = res.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    Answer {
        status,
        request_id,
        body,
        www_authenticate,
        retry_after,
    }
}

fn sale(event: &str, ticket_type: &str, quantity: i64) -> Value {
    json!({
        "event_id": event,
        "lines": [{ "ticket_type_id": ticket_type, "quantity": quantity }],
        "payment_method": "cash"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_ready_and_request_ids() {
    let site = Site::new(1).await;
    let h = site.send(0, Method::GET, "/health", None, None).await;
    assert_eq!(
        (h.status, h.body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    let r = site.send(0, Method::GET, "/ready", None, None).await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );

    // A client's id comes back; without one the server makes one; a malformed one is replaced.
    let mine = site
        .http
        .get(site.url(0, "/health"))
        .header("x-request-id", "door-7:1234")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.headers()["x-request-id"], "door-7:1234");
    let made = h.request_id.expect("a generated id");
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    assert_ne!(r.request_id.unwrap(), made, "each request has its own id");
    let odd = site
        .http
        .get(site.url(0, "/health"))
        .header("x-request-id", "two words")
        .send()
        .await
        .unwrap();
    let replaced = odd.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(replaced).is_ok(), "{replaced}");
    // Errors and unknown routes carry one too, as typed JSON.
    let none = site.send(0, Method::GET, "/nowhere", None, None).await;
    assert_eq!(
        (none.status, none.code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    assert!(none.request_id.is_some());
    let wrong = site.send(0, Method::DELETE, "/health", None, None).await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.code(), "method_not_allowed");

    // The database goes away: the server is alive but not ready.
    let Site {
        pg, servers, db, ..
    } = site;
    db.close().await;
    drop(pg);
    let r = answer(
        reqwest::get(format!("{}/ready", servers[0].url()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "busy")
    );
    let h = answer(
        reqwest::get(format!("{}/health", servers[0].url()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(h.status, StatusCode::OK);
    for s in servers {
        s.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_logout_and_bearer_tokens() {
    let site = Site::new(1).await;
    let ok = site.login("owner", PASSWORD).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["user"]["role"], "owner");
    let token = ok.body["token"].as_str().unwrap().to_string();
    // Stored only as a hash.
    assert_eq!(
        site.scalar(&format!(
            "select count(*) from api_tokens where token_hash = sha256('{token}'::bytea)"
        ))
        .await,
        1
    );
    assert_eq!(
        site.scalar(&format!(
            "select count(*) from api_tokens where encode(token_hash, 'escape') like '%{}%'",
            &token[6..20]
        ))
        .await,
        0
    );

    let wrong = site.login("owner", "not the password").await;
    assert_eq!(
        (wrong.status, wrong.code()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    assert_eq!(wrong.body["message"], "wrong username or password");
    let nobody = site.login("nobody", PASSWORD).await;
    assert_eq!(
        nobody.body, wrong.body,
        "unknown users answer exactly as wrong passwords"
    );

    // No token, a malformed one, an unknown one: 401 with a challenge.
    let none = site
        .send(0, Method::GET, "/api/v1/events", None, None)
        .await;
    assert_eq!(
        (none.status, none.code()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    assert_eq!(none.www_authenticate.as_deref(), Some("Bearer"));
    let bad = site.get("/api/v1/events", "not-a-token").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let unknown = site
        .get("/api/v1/events", &format!("admit_{}", "0".repeat(64)))
        .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);

    let me = site.get("/api/v1/session", &token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["user"]["username"], "owner");
    assert!(me.body["device_id"].is_null());
    assert_eq!(
        site.get("/api/v1/events", &token).await.status,
        StatusCode::OK
    );

    let out = site
        .send(0, Method::POST, "/api/v1/logout", Some(&token), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(
        site.get("/api/v1/events", &token).await.status,
        StatusCode::UNAUTHORIZED,
        "a logged-out token is refused at once"
    );

    // An expired login token is refused too.
    let t2 = site.owner().await;
    sqlx::query(
        "update api_tokens set expires_at = now() - interval '1 second' where revoked_at is null",
    )
    .execute(&site.db)
    .await
    .unwrap();
    assert_eq!(
        site.get("/api/v1/events", &t2).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Repeated wrong passwords lock the account: 429 with a time to come back.
    let mut last = site.login("owner", "wrong password").await;
    for _ in 0..4 {
        last = site.login("owner", "wrong password").await;
    }
    assert_eq!(
        (last.status, last.code()),
        (StatusCode::TOO_MANY_REQUESTS, "locked_out")
    );
    assert!(last.retry_after.unwrap().parse::<u64>().unwrap() >= 1);
    let locked = site.login("owner", PASSWORD).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even with the right password"
    );
    site.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_codes_are_good_once_and_until_they_expire() {
    let site = Site::new(1).await;
    let owner = site.owner().await;

    // Only owners pair devices.
    let boxoffice = site.user(&owner, "cashier", "box_office").await;
    let manager = site.user(&owner, "mia", "manager").await;
    for who in [&boxoffice, &manager] {
        let refused = site
            .post(
                "/api/v1/pairing-codes",
                who,
                json!({ "name": "Till 1", "role": "box_office" }),
            )
            .await;
        assert_eq!(
            (refused.status, refused.code()),
            (StatusCode::FORBIDDEN, "forbidden")
        );
    }
    assert_eq!(site.scalar("select count(*) from pairing_codes").await, 0);
    let bad = site
        .post(
            "/api/v1/pairing-codes",
            &owner,
            json!({ "name": "Till 1", "role": "bar" }),
        )
        .await;
    assert_eq!((bad.status, bad.field()), (StatusCode::BAD_REQUEST, "role"));

    let code = site
        .post(
            "/api/v1/pairing-codes",
            &owner,
            json!({ "name": "North door", "role": "door" }),
        )
        .await;
    assert_eq!(code.status, StatusCode::CREATED);
    let shown = code.body["code"].as_str().unwrap().to_string();
    assert_eq!(shown.len(), 14, "three groups of four: {shown}");
    // Typed in lower case with spaces, it still pairs.
    let typed = shown.to_lowercase().replace('-', " ");
    let paired = site
        .send(
            0,
            Method::POST,
            "/api/v1/pair",
            None,
            Some(json!({ "code": typed })),
        )
        .await;
    assert_eq!(paired.status, StatusCode::CREATED, "{}", paired.body);
    let device_id = paired.body["device"]["id"].as_str().unwrap().to_string();
    assert_eq!(paired.body["device"]["role"], "door");
    let token = paired.body["token"].as_str().unwrap().to_string();

    // The device's token works and the session names the device and its service user.
    let me = site.get("/api/v1/session", &token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["device_id"], device_id.as_str());
    assert_eq!(me.body["user"]["role"], "door");
    assert!(me.body["user"]["username"]
        .as_str()
        .unwrap()
        .starts_with("device-"));
    assert_eq!(
        site.get("/api/v1/events", &token).await.status,
        StatusCode::OK
    );
    // Its service user cannot log in by password, whatever it tries.
    let username = me.body["user"]["username"].as_str().unwrap().to_string();
    assert_eq!(
        site.login(&username, "").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        site.login(&username, "!device").await.status,
        StatusCode::UNAUTHORIZED
    );
    // The audit says who paired and which device.
    assert_eq!(
        site.scalar(&format!(
            "select count(*) from audit_log where action = 'device.pair'
             and device_id = '{device_id}' and user_id is not null"
        ))
        .await,
        1
    );

    // The same code again: refused, nothing written.
    let before = site.scalar("select count(*) from devices").await;
    let again = site
        .send(
            0,
            Method::POST,
            "/api/v1/pair",
            None,
            Some(json!({ "code": shown })),
        )
        .await;
    assert_eq!(
        (again.status, again.field()),
        (StatusCode::BAD_REQUEST, "code")
    );
    assert!(
        again.body["message"].as_str().unwrap().contains("used"),
        "{}",
        again.body
    );
    assert_eq!(site.scalar("select count(*) from devices").await, before);

    // An expired code: refused, nothing written.
    let late = site
        .post(
            "/api/v1/pairing-codes",
            &owner,
            json!({ "name": "Kiosk", "role": "kiosk" }),
        )
        .await;
    sqlx::query(
        "update pairing_codes set expires_at = now() - interval '1 second' where used_at is null",
    )
    .execute(&site.db)
    .await
    .unwrap();
    let expired = site
        .send(
            0,
            Method::POST,
            "/api/v1/pair",
            None,
            Some(json!({ "code": late.body["code"] })),
        )
        .await;
    assert_eq!(
        (expired.status, expired.field()),
        (StatusCode::BAD_REQUEST, "code")
    );
    assert!(expired.body["message"]
        .as_str()
        .unwrap()
        .contains("expired"));
    let made_up = site
        .send(
            0,
            Method::POST,
            "/api/v1/pair",
            None,
            Some(json!({ "code": "AAAA-BBBB-CCCC" })),
        )
        .await;
    assert_eq!(
        (made_up.status, made_up.field()),
        (StatusCode::BAD_REQUEST, "code")
    );
    assert_eq!(site.scalar("select count(*) from devices").await, before);
    assert_eq!(
        site.scalar("select count(*) from users where username like 'device-%'")
            .await,
        before
    );

    // Two devices racing with one code: exactly one pairs.
    let race = site
        .post(
            "/api/v1/pairing-codes",
            &owner,
            json!({ "name": "Till", "role": "box_office" }),
        )
        .await;
    let tries = (0..4).map(|_| {
        site.send(
            0,
            Method::POST,
            "/api/v1/pair",
            None,
            Some(json!({ "code": race.body["code"] })),
        )
    });
    let outcomes = futures::future::join_all(tries).await;
    assert_eq!(
        outcomes
            .iter()
            .filter(|a| a.status == StatusCode::CREATED)
            .count(),
        1,
        "a code pairs one device"
    );
    assert!(outcomes
        .iter()
        .all(|a| a.status == StatusCode::CREATED || a.field() == "code"));
    site.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_device_is_refused_at_once() {
    let site = Site::new(1).await;
    let owner = site.owner().await;
    let (id, token) = site.device(&owner, "Till 2", "box_office").await;
    assert_eq!(
        site.get("/api/v1/events", &token).await.status,
        StatusCode::OK
    );

    // Devices cannot manage devices.
    let listed = site.get("/api/v1/devices", &token).await;
    assert_eq!(listed.status, StatusCode::FORBIDDEN);
    let listed = site.get("/api/v1/devices", &owner).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert!(listed.body[0]["revoked_at"].is_null());

    let revoked = site
        .send(
            0,
            Method::POST,
            &format!("/api/v1/devices/{id}/revoke"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert!(!revoked.body["revoked_at"].is_null());
    let refused = site.get("/api/v1/events", &token).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    // Its user is off too, and the audit says who revoked it.
    assert_eq!(
        site.scalar(&format!(
            "select count(*) from users u join devices d on d.user_id = u.id
             where d.id = '{id}' and not u.active"
        ))
        .await,
        1
    );
    assert_eq!(
        site.scalar("select count(*) from audit_log where action = 'device.revoke'")
            .await,
        1
    );
    let again = site
        .send(
            0,
            Method::POST,
            &format!("/api/v1/devices/{id}/revoke"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "conflict")
    );
    let missing = site
        .send(
            0,
            Method::POST,
            &format!("/api/v1/devices/{}/revoke", uuid::Uuid::now_v7()),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    site.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_door_cannot_sell_but_can_redeem() {
    let site = Site::new(1).await;
    let owner = site.owner().await;
    let (event, tt) = site.event(&owner, 10).await;
    let (door_id, door) = site.device(&owner, "North door", "door").await;

    let refused = site
        .post("/api/v1/orders", &door, sale(&event, &tt, 1))
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    assert_eq!(site.scalar("select count(*) from orders").await, 0);

    let order = site
        .post("/api/v1/orders", &owner, sale(&event, &tt, 1))
        .await;
    assert_eq!(order.status, StatusCode::CREATED);
    let ticket = order.body["tickets"][0]["id"].as_str().unwrap().to_string();
    let secret = site
        .post(
            &format!("/api/v1/tickets/{ticket}/secret"),
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(secret.status, StatusCode::OK, "{}", secret.body);
    let list = site
        .post(
            "/api/v1/checkin-lists",
            &owner,
            json!({ "event_id": event, "name": "Main" }),
        )
        .await;
    assert_eq!(list.status, StatusCode::CREATED, "{}", list.body);
    let lists = site
        .get(&format!("/api/v1/events/{event}/checkin-lists"), &door)
        .await;
    assert_eq!(lists.body.as_array().unwrap().len(), 1);

    let scan = |nonce: &str| {
        json!({ "raw": secret.body["secret"], "list_id": list.body["id"], "nonce": nonce,
                "gate": "North" })
    };
    let first = site.post("/api/v1/redeem", &door, scan("n-1")).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(
        (first.body["ok"].as_bool(), first.body["verdict"].as_str()),
        (Some(true), Some("ok"))
    );
    let second = site.post("/api/v1/redeem", &door, scan("n-2")).await;
    assert_eq!(second.body["verdict"], "already_redeemed");
    // The scan is the device's.
    assert_eq!(
        site.scalar(&format!(
            "select count(*) from scans where device_id = '{door_id}'"
        ))
        .await,
        2
    );
    site.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sale_lookup_and_cancel_over_http() {
    let site = Site::new(1).await;
    let owner = site.owner().await;
    let (event, tt) = site.event(&owner, 10).await;

    let sold = site
        .post(
            "/api/v1/orders",
            &owner,
            json!({
                "event_id": event, "payment_method": "cash", "buyer_name": "Ada Lovelace",
                "lines": [{ "ticket_type_id": tt, "quantity": 2, "attendee_names": ["Ada"] }]
            }),
        )
        .await;
    assert_eq!(sold.status, StatusCode::CREATED, "{}", sold.body);
    assert_eq!(
        sold.body["order"]["total"]["minor"], 4000,
        "the price comes from the catalogue"
    );
    let id = sold.body["order"]["id"].as_str().unwrap().to_string();
    let code = sold.body["order"]["code"].as_str().unwrap().to_string();

    let by_id = site.get(&format!("/api/v1/orders/{id}"), &owner).await;
    assert_eq!(by_id.body["tickets"].as_array().unwrap().len(), 2);
    let by_code = site
        .get(&format!("/api/v1/orders/by-code/{code}"), &owner)
        .await;
    assert_eq!(by_code.body["order"]["id"], id.as_str());
    let found = site.get("/api/v1/orders?q=lovelace&limit=5", &owner).await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(found.body[0]["id"], id.as_str());
    let bad_query = site.get("/api/v1/orders?limit=lots", &owner).await;
    assert_eq!(
        (bad_query.status, bad_query.code()),
        (StatusCode::BAD_REQUEST, "invalid_input")
    );
    let avail = site
        .get(&format!("/api/v1/events/{event}/availability"), &owner)
        .await;
    assert_eq!(avail.body["ticket_types"][0]["available"], 8);

    let cancelled = site
        .post(&format!("/api/v1/orders/{id}/cancel"), &owner, json!({}))
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.body["order"]["status"], "cancelled");
    let avail = site
        .get(&format!("/api/v1/events/{event}/availability"), &owner)
        .await;
    assert_eq!(
        avail.body["ticket_types"][0]["available"], 10,
        "the units came back"
    );
    let twice = site
        .post(&format!("/api/v1/orders/{id}/cancel"), &owner, json!({}))
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);

    // Sold out is a 409 with its own code.
    let too_many = site
        .post("/api/v1/orders", &owner, sale(&event, &tt, 10))
        .await;
    assert_eq!(too_many.status, StatusCode::CREATED);
    let none_left = site
        .post("/api/v1/orders", &owner, sale(&event, &tt, 1))
        .await;
    assert_eq!(
        (none_left.status, none_left.code()),
        (StatusCode::CONFLICT, "sold_out")
    );
    site.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_edit_is_a_conflict() {
    let site = Site::new(1).await;
    let owner = site.owner().await;
    let (event, _) = site.event(&owner, 10).await;
    let current = site.get(&format!("/api/v1/events/{event}"), &owner).await;
    let version = current.body["meta"]["version"].as_i64().unwrap();
    let edit = |name: &str, v: i64| {
        json!({
            "expected_version": v, "name": name, "venue": "Town Hall",
            "starts_at": "2030-06-01T19:30:00+02:00", "ends_at": "2030-06-01T23:30:00+02:00",
            "time_zone": "Europe/Berlin"
        })
    };
    let first = site
        .send(
            0,
            Method::PUT,
            &format!("/api/v1/events/{event}"),
            Some(&owner),
            Some(edit("Summer Gala", version)),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["meta"]["version"], version + 1);
    // A second edit made from the same read loses: nothing is overwritten.
    let second = site
        .send(
            0,
            Method::PUT,
            &format!("/api/v1/events/{event}"),
            Some(&owner),
            Some(edit("Autumn Gala", version)),
        )
        .await;
    assert_eq!(
        (second.status, second.code()),
        (StatusCode::CONFLICT, "stale")
    );
    let now = site.get(&format!("/api/v1/events/{event}"), &owner).await;
    assert_eq!(now.body["name"], "Summer Gala");
    site.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_typed_and_write_nothing() {
    let site = Site::new(1).await;
    let owner = site.owner().await;
    let (event, tt) = site.event(&owner, 10).await;
    let counts = || async {
        (
            site.scalar("select count(*) from orders").await,
            site.scalar("select count(*) from tickets").await,
            site.scalar("select count(*) from audit_log").await,
            site.scalar("select sum(taken) from quotas").await,
        )
    };
    let before = counts().await;
    let raw = |body: Vec<u8>, content_type: Option<&str>| {
        let mut req = site
            .http
            .post(site.url(0, "/api/v1/orders"))
            .bearer_auth(&owner)
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        async move { answer(req.send().await.unwrap()).await }
    };

    let broken = raw(b"{\"event_id\": ".to_vec(), Some("application/json")).await;
    assert_eq!(
        (broken.status, broken.code(), broken.field()),
        (StatusCode::BAD_REQUEST, "invalid_input", "body")
    );
    let wrong_type = raw(
        serde_json::to_vec(&json!({ "event_id": event, "payment_method": "cash",
            "lines": [{ "ticket_type_id": tt, "quantity": "two" }] }))
        .unwrap(),
        Some("application/json"),
    )
    .await;
    assert_eq!(
        (wrong_type.status, wrong_type.field()),
        (StatusCode::BAD_REQUEST, "lines[0].quantity")
    );
    let missing = raw(
        serde_json::to_vec(&json!({ "event_id": event })).unwrap(),
        Some("application/json"),
    )
    .await;
    assert_eq!(
        (missing.status, missing.field()),
        (StatusCode::BAD_REQUEST, "lines")
    );
    let not_json = raw(
        b"event_id=1".to_vec(),
        Some("application/x-www-form-urlencoded"),
    )
    .await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(not_json.code(), "invalid_input");
    let no_type = raw(b"{}".to_vec(), None).await;
    assert_eq!(no_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut huge = br#"{"event_id": ""#.to_vec();
    huge.extend(std::iter::repeat_n(b'x', 3 * 1024 * 1024));
    huge.extend(br#"", "lines": [], "payment_method": "cash"}"#);
    let too_large = raw(huge, Some("application/json")).await;
    assert_eq!(
        (too_large.status, too_large.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
    );
    // Well-formed JSON that the use case refuses names the field too.
    let zero = site
        .post("/api/v1/orders", &owner, sale(&event, &tt, 0))
        .await;
    assert_eq!(
        (zero.status, zero.field()),
        (StatusCode::BAD_REQUEST, "lines[0].quantity")
    );
    let bad_id = site
        .post("/api/v1/orders", &owner, sale("not-an-id", &tt, 1))
        .await;
    assert_eq!(
        (bad_id.status, bad_id.field()),
        (StatusCode::BAD_REQUEST, "event_id")
    );
    let bad_path = site.get("/api/v1/orders/not-an-id", &owner).await;
    assert_eq!(
        (bad_path.status, bad_path.field()),
        (StatusCode::BAD_REQUEST, "id")
    );
    assert_eq!(counts().await, before, "refused requests wrote nothing");
    site.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_never_oversell() {
    const SIZE: i64 = 25;
    const BUYERS: usize = 40;
    let site = Arc::new(Site::new(2).await);
    let owner = site.owner().await;
    let (event, tt) = site.event(&owner, SIZE).await;
    // A second token, from the other server: tokens live in the database, not in a server.
    let other = {
        let a = site
            .send(
                1,
                Method::POST,
                "/api/v1/login",
                None,
                Some(json!({ "username": "owner", "password": PASSWORD })),
            )
            .await;
        a.body["token"].as_str().unwrap().to_string()
    };

    let sales = (0..BUYERS).map(|i| {
        let (site, event, tt) = (site.clone(), event.clone(), tt.clone());
        let token = if i % 3 == 0 {
            other.clone()
        } else {
            owner.clone()
        };
        tokio::spawn(async move {
            site.send(
                i % 2,
                Method::POST,
                "/api/v1/orders",
                Some(&token),
                Some(sale(&event, &tt, 1)),
            )
            .await
        })
    });
    let answers: Vec<Answer> = futures::future::join_all(sales)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let sold = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED)
        .count();
    let sold_out = answers.iter().filter(|a| a.code() == "sold_out").count();
    assert_eq!(sold as i64, SIZE, "exactly the quota is sold");
    assert_eq!(sold + sold_out, BUYERS, "every other buyer hears sold out");
    assert_eq!(
        site.scalar("select taken from quotas").await,
        site.scalar("select count(*) from tickets where status = 'valid'")
            .await,
        "taken equals the live tickets"
    );
    assert_eq!(site.scalar("select taken from quotas").await, SIZE);

    // A change made through one server is what the other serves.
    let read = site
        .send(
            1,
            Method::GET,
            &format!("/api/v1/events/{event}"),
            Some(&owner),
            None,
        )
        .await;
    let v = read.body["meta"]["version"].as_i64().unwrap();
    let edit = json!({
        "expected_version": v, "name": "Renamed on A", "venue": "Town Hall",
        "starts_at": "2030-06-01T19:30:00+02:00", "ends_at": "2030-06-01T23:00:00+02:00",
        "time_zone": "Europe/Berlin"
    });
    let edited = site
        .send(
            0,
            Method::PUT,
            &format!("/api/v1/events/{event}"),
            Some(&owner),
            Some(edit.clone()),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK);
    let seen = site
        .send(
            1,
            Method::GET,
            &format!("/api/v1/events/{event}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(seen.body["name"], "Renamed on A");
    let stale = site
        .send(
            1,
            Method::PUT,
            &format!("/api/v1/events/{event}"),
            Some(&owner),
            Some(edit),
        )
        .await;
    assert_eq!(
        stale.code(),
        "stale",
        "the other server refuses the same stale edit"
    );
    // A device revoked through one server is refused by the other at once.
    let (device, token) = site.device(&owner, "Till", "box_office").await;
    assert_eq!(
        site.send(1, Method::GET, "/api/v1/events", Some(&token), None)
            .await
            .status,
        StatusCode::OK
    );
    site.send(
        0,
        Method::POST,
        &format!("/api/v1/devices/{device}/revoke"),
        Some(&owner),
        None,
    )
    .await;
    assert_eq!(
        site.send(1, Method::GET, "/api/v1/events", Some(&token), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    Arc::into_inner(site).unwrap().shutdown().await;
}

/// Route paths as axum holds them, read from the router's debug output. axum has no public
/// way to list its routes; this keeps the check independent of how the routes were declared.
fn served_paths(router: &axum::Router) -> BTreeSet<String> {
    let text = format!("{router:?}");
    // The fallback router holds axum's own catch-all paths; only the path router is ours.
    let text = text.split("fallback_router").next().unwrap();
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("RouteId(") {
        rest = &rest[i..];
        let Some(close) = rest.find("): \"") else {
            rest = &rest[1..];
            continue;
        };
        let after = &rest[close + 4..];
        let end = after.find('"').unwrap();
        out.insert(after[..end].to_string());
        rest = &after[end..];
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route() {
    let site = Site::new(1).await;
    let doc = site
        .send(0, Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(doc.status, StatusCode::OK);
    let doc = doc.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();

    // Every route the router serves is in the document.
    let store = admit_store::open(site.pg.url()).await.unwrap();
    let router = admit_server::router(
        admit_server::AppState::new(admit_api::Admit::new(store)),
        admit_server::config::DEFAULT_MAX_BODY_BYTES,
    );
    let served = served_paths(&router);
    assert!(
        served.len() > 20,
        "the router's routes were read: {served:?}"
    );
    for p in &served {
        assert!(
            paths.contains_key(p),
            "{p} is served but not in the document"
        );
    }

    // Every operation in the document is served (not the 404/405 of a missing route), and
    // says what it takes and gives.
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let concrete = path
                .replace("{id}", &uuid::Uuid::now_v7().to_string())
                .replace("{code}", "ABCDEFG");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let a = site
                .send(0, m.clone(), &concrete, None, Some(json!({})))
                .await;
            assert!(
                !(a.status == StatusCode::NOT_FOUND
                    && a.body["message"]
                        .as_str()
                        .unwrap_or("")
                        .starts_with("no such route"))
                    && a.status != StatusCode::METHOD_NOT_ALLOWED,
                "{m} {path} is documented but not served ({})",
                a.status
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{m} {path} has no responses");
            let ok = responses
                .iter()
                .find(|(s, _)| s.starts_with('2'))
                .unwrap_or_else(|| panic!("{m} {path} has no success answer"));
            if ok.0 != "204" {
                assert!(
                    ok.1["content"]["application/json"]["schema"].is_object(),
                    "{m} {path}"
                );
            }
            // Every edit says what it takes (POSTs without a body act on the path's record:
            // publish, revoke, logout, …).
            if m == Method::PUT {
                assert!(op["requestBody"].is_object(), "{m} {path}");
            }
        }
    }
    assert!(operations >= 30, "{operations} operations");
    for schema in [
        "Event",
        "OrderWithTickets",
        "SaleInput",
        "ErrorBody",
        "Device",
        "RedeemAnswer",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} is described"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    site.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_request_in_flight_finish() {
    let mut site = Site::new(1).await;
    let owner = site.owner().await;
    // Hold the events table so a request for it waits inside the server.
    let mut blocker = site.db.begin().await.unwrap();
    sqlx::query("lock table events in access exclusive mode")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let url = site.url(0, "/api/v1/events");
    let http = site.http.clone();
    let token = owner.clone();
    let in_flight = tokio::spawn(async move {
        answer(http.get(url).bearer_auth(token).send().await.unwrap()).await
    });
    // Wait until the server's query is queued behind the lock.
    let mut waited = 0;
    while site
        .scalar("select count(*) from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()")
        .await
        == 0
    {
        waited += 1;
        assert!(waited < 500, "the request never reached the database");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let server = site.servers.pop().unwrap();
    let addr = server.addr;
    let stopping = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !stopping.is_finished(),
        "shutdown waits for the request in flight"
    );
    // No new connections meanwhile.
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
    blocker.rollback().await.unwrap();
    let a = in_flight.await.unwrap();
    assert_eq!(
        a.status,
        StatusCode::OK,
        "the request in flight got its answer"
    );
    stopping.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_self_signed_certificate() {
    let pg = TestPostgres::new().await;
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let mut c = config(pg.url());
    c.tls = Some(admit_server::TlsConfig {
        cert: cert_path,
        key: key_path,
    });
    let server = admit_server::start(c).await.unwrap();
    assert!(server.url().starts_with("https://"));

    // A client that trusts exactly this certificate.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tls.write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tls.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#"{"status":"ok"}"#), "{response}");

    // Plain HTTP to the TLS port gets no answer.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/health", server.addr))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_routes_take_only_device_tokens() {
    use admit_server::{AppState, DeviceCaller};
    let site = Site::new(1).await;
    let owner = site.owner().await;
    let (device_id, device) = site.device(&owner, "Till", "box_office").await;
    // A route of the kind sync adds: it takes the device as its caller.
    let store = admit_store::open(site.pg.url()).await.unwrap();
    let app = axum::Router::new()
        .route(
            "/whoami",
            axum::routing::get(|d: DeviceCaller| async move {
                axum::Json(json!({ "device": d.device.id, "user": d.session.user.id,
                                   "session_device": d.session.device_id }))
            }),
        )
        .with_state(AppState::new(admit_api::Admit::new(store)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = tokio::spawn(async move { axum::serve(listener, app).await });
    let call = |token: Option<String>| {
        let mut req = site.http.get(format!("http://{addr}/whoami"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move { answer(req.send().await.unwrap()).await }
    };
    let me = call(Some(device.clone())).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["device"], device_id.as_str());
    assert_eq!(me.body["session_device"], device_id.as_str());
    let user = call(Some(owner.clone())).await;
    assert_eq!(
        (user.status, user.code()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let nobody = call(None).await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
    served.abort();
    site.shutdown().await;
}
