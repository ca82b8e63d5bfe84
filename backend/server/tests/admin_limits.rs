//! `sluice admin limits`: a tenant's and the platform's policies set, shown and cleared from
//! the command line, in the management API's shape, and bad policies refused naming the field.

use std::process::{Command, Output};

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn limits_are_set_shown_and_cleared_and_bad_ones_refused() {
    let dir = std::env::temp_dir().join(format!("admin-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("admin")
            .args(args)
            .env("SLUICE_DATA_DIR", &dir)
            .env_remove("SLUICE_DATABASE_URL")
            .env_remove("SLUICE_REDIS_URL")
            .output()
            .unwrap()
    };
    let made = run(&["tenant", "create", "acme"]);
    assert!(made.status.success(), "{}", text(&made));

    let set = run(&[
        "limits",
        "set",
        "--tenant",
        "acme",
        "--json",
        r#"{"requests_per_minute": 60, "budgets": [{"period": "week", "spend": "12.5",
            "alert_at_percent": [80, 100]}], "denied_models": ["o1"]}"#,
    ]);
    assert!(set.status.success(), "{}", text(&set));
    let shown = run(&["limits", "show", "--tenant", "acme"]);
    assert!(shown.status.success(), "{}", text(&shown));
    let policy: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(policy["requests_per_minute"], 60);
    assert_eq!(policy["budgets"][0]["spend"], "12.5");
    assert_eq!(policy["budgets"][0]["hard"], true);
    assert_eq!(policy["denied_models"][0], "o1");

    for (json, field) in [
        (r#"{"requests_per_minute": 0}"#, "requests_per_minute"),
        (
            r#"{"budgets": [{"period": "fortnight", "tokens": 5}]}"#,
            "budgets[0].period",
        ),
        (
            r#"{"budgets": [{"period": "day", "spend": "0.0000001"}]}"#,
            "budgets[0].spend",
        ),
    ] {
        let refused = run(&["limits", "set", "--tenant", "acme", "--json", json]);
        assert!(!refused.status.success(), "{json}");
        assert!(text(&refused).contains(field), "{json}: {}", text(&refused));
    }
    let floats = run(&[
        "limits",
        "set",
        "--platform",
        "--json",
        r#"{"budgets": [{"period": "day", "spend": 5.5}]}"#,
    ]);
    assert!(!floats.status.success(), "money is never a float");
    let shown = run(&["limits", "show", "--tenant", "acme"]);
    let unchanged: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(unchanged, policy, "nothing changed");

    let none = run(&["limits", "show", "--tenant", "nobody"]);
    assert!(!none.status.success());
    let both = run(&["limits", "show", "--tenant", "acme", "--platform"]);
    assert!(!both.status.success(), "one scope at a time");

    let cleared = run(&["limits", "clear", "--tenant", "acme"]);
    assert!(cleared.status.success(), "{}", text(&cleared));
    let shown = run(&["limits", "show", "--tenant", "acme"]);
    assert!(
        text(&shown).contains("no limits are set"),
        "{}",
        text(&shown)
    );
    std::fs::remove_dir_all(&dir).ok();
}
