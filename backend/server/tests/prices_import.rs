//! `sluice prices import`: LiteLLM's price list becomes a price file the gateway reads.

use std::process::Command;

#[test]
fn litellms_list_becomes_a_price_file_and_bad_input_is_refused() {
    let dir = std::env::temp_dir().join(format!("prices-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("prices.json");
    std::fs::write(
        &json,
        r#"{"gpt-4o-mini": {"litellm_provider": "openai", "mode": "chat",
            "input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07}}"#,
    )
    .unwrap();
    let out = dir.join("prices.toml");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .env("SLUICE_DATA_DIR", &dir)
            .output()
            .unwrap()
    };
    let done = run(&[
        "prices",
        "import",
        json.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--source",
        "a test copy",
    ]);
    assert!(done.status.success(), "{done:?}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("model = \"gpt-4o-mini\"\ninput = \"0.15\"\noutput = \"0.6\""),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&done.stderr).contains("1 models priced"));
    std::fs::write(&json, "[1, 2]").unwrap();
    let refused = run(&["prices", "import", json.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not LiteLLM's price list"));
    std::fs::remove_dir_all(&dir).ok();
}
