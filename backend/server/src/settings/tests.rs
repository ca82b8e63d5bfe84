//! The settings' parsing and checks, by example.

use providers::Trust;

use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(text: &str) -> Result<Settings, String> {
    Settings::parse("sluice.toml", text, false, &no_env).map_err(|e| e.0)
}

#[test]
fn sso_providers_take_presets_and_refuse_bad_values_by_line() {
    let env = |name: &str| (name == "IDP_SECRET").then(|| "s3cret".to_owned());
    let text = "[sso.providers.github]\nkind = \"github\"\nclient_id = \"abc\"\nclient_secret = \"env:IDP_SECRET\"\n\n[sso.providers.google]\nkind = \"google\"\nclient_id = \"g\"\nclient_secret = \"env:IDP_SECRET\"\n";
    let settings = Settings::parse("sluice.toml", text, false, &env).unwrap();
    assert_eq!(settings.sso.len(), 2);
    assert_eq!(settings.sso[0].display_name, "GitHub");
    assert!(
        matches!(&settings.sso[0].kind, sso::Kind::Github { api_url, .. } if api_url == "https://api.github.com")
    );
    assert!(
        matches!(&settings.sso[1].kind, sso::Kind::Oidc { issuer } if issuer == "https://accounts.google.com")
    );
    let e = Settings::parse(
        "sluice.toml",
        "[sso.providers.x]\nkind = \"saml\"\nclient_id = \"a\"\nclient_secret = \"env:IDP_SECRET\"\n",
        false,
        &env,
    )
    .unwrap_err()
    .0;
    assert!(
        e.starts_with("sluice.toml:2: `sso.providers.x.kind`: unknown kind `saml`"),
        "{e}"
    );
    let e = parse("[sso.providers.x]\nkind = \"oidc\"\nissuer = \"https://idp.example\"\nclient_id = \"a\"\nclient_secret = \"literal\"\n").unwrap_err();
    assert!(
        e.contains("`sso.providers.x.client_secret`: secrets are not written in files"),
        "{e}"
    );
    let e =
        parse("[sso.providers.x]\nkind = \"oidc\"\nclient_id = \"a\"\nclient_secret = \"env:X\"\n")
            .unwrap_err();
    assert!(e.contains("`sso.providers.x.issuer`"), "{e}");
}

#[test]
fn trusted_proxies_and_the_dns_resolver_are_parsed_and_checked_by_line() {
    let settings = parse(
        "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"127.0.0.1\", \"fd00::/8\"]\n\n[partners]\ndns_resolver = \"127.0.0.1:5353\"\n",
    )
    .unwrap();
    let shown: Vec<String> = settings
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(shown, ["10.0.0.0/8", "127.0.0.1/32", "fd00::/8"]);
    assert_eq!(
        settings.partners.dns_resolver,
        Some("127.0.0.1:5353".parse().unwrap())
    );
    let e = parse("[server]\nworkers = 1\ntrusted_proxies = [\"10.0.0.0/33\"]\n").unwrap_err();
    assert!(
        e.starts_with("sluice.toml:3: `server.trusted_proxies`"),
        "{e}"
    );
    let e = parse("[partners]\ndns_resolver = \"dns.example\"\n").unwrap_err();
    assert!(
        e.starts_with("sluice.toml:2: `partners.dns_resolver`"),
        "{e}"
    );
    let env =
        |name: &str| (name == "SLUICE_TRUSTED_PROXIES").then(|| " 127.0.0.1/32, ::1 ".to_owned());
    let settings = Settings::parse("sluice.toml", "", false, &env).unwrap();
    assert_eq!(settings.trusted_proxies.len(), 2);
    let defaults = parse("").unwrap();
    assert!(
        defaults.trusted_proxies.is_empty(),
        "no proxy is trusted by default"
    );
    assert_eq!(defaults.partners.dns_resolver, None);
    let env = |name: &str| (name == "SLUICE_PARTNERS_DNS_RESOLVER").then(|| "10.0.0.2".to_owned());
    let settings = Settings::parse("sluice.toml", "", false, &env).unwrap();
    assert_eq!(
        settings.partners.dns_resolver,
        Some("10.0.0.2:53".parse().unwrap())
    );
}

#[test]
fn defaults_give_the_quick_start() {
    let settings = Settings::parse("<defaults>", "", true, &no_env).unwrap();
    assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(settings.database.url, "sqlite://sluice-data/sluice.db");
    assert_eq!(settings.models[0].alias, "mock");
    assert!(settings.redis_url.is_none());
    assert_eq!(settings.key_prefix, "sk-sluice");
}

#[test]
fn environment_overrides_the_file() {
    let env = |name: &str| match name {
        "SLUICE_LISTEN" => Some("0.0.0.0:9000".to_owned()),
        "SLUICE_DATABASE_URL" => Some("postgres://u:secret@db/sluice".to_owned()),
        "SLUICE_WORKERS" => Some("3".to_owned()),
        _ => None,
    };
    let settings =
        Settings::parse("f", "[server]\nlisten = \"127.0.0.1:1\"\n", false, &env).unwrap();
    assert_eq!(settings.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(settings.workers, 3);
    assert!(!format!("{:?}", settings.database).contains("secret"));
    let bad = |name: &str| (name == "SLUICE_WORKERS").then(|| "many".to_owned());
    let e = Settings::parse("f", "", false, &bad).unwrap_err();
    assert_eq!(
        e.0,
        "environment variable SLUICE_WORKERS: invalid value `many`"
    );
}

#[test]
fn a_provider_ca_file_is_read_at_start_and_named_when_unusable() {
    let ca = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../providers/src/http/testdata/ca.pem"
    );
    let settings = parse(&format!(
        "[providers.vllm]\nkind = \"openai_compatible\"\nbase_url = \"https://vllm.internal/v1\"\nca_file = \"{ca}\"\n"
    ))
    .unwrap();
    assert!(matches!(
        &settings.providers[0].config,
        ProviderConfig::OpenAi(openai::Config {
            trust: Trust::Roots(_),
            ..
        })
    ));
    let e = parse(
        "[providers.vllm]\nkind = \"openai_compatible\"\nbase_url = \"https://vllm.internal/v1\"\nca_file = \"/nonexistent/ca.pem\"\n",
    )
    .unwrap_err();
    assert!(
        e.starts_with("sluice.toml:4: `providers.vllm.ca_file`: cannot read `/nonexistent/ca.pem`"),
        "{e}"
    );
}

#[test]
fn billing_periods_are_anchored_at_the_calendar_month_or_at_sign_up() {
    use domain::invoice::BillingAnchor;
    assert_eq!(
        parse("").unwrap().invoicing.anchor,
        BillingAnchor::CalendarMonth
    );
    assert_eq!(
        parse("[invoicing]\nanchor = \"sign_up\"\n")
            .unwrap()
            .invoicing
            .anchor,
        BillingAnchor::SignUp
    );
    let e = parse("[invoicing]\nmonthly = true\nanchor = \"weekly\"\n").unwrap_err();
    assert_eq!(
        e,
        "sluice.toml:3: `invoicing.anchor`: expected `calendar_month` or `sign_up`"
    );
}

#[test]
fn errors_name_file_line_and_key() {
    let e = parse("[server]\nlisten = \"nowhere\"\n").unwrap_err();
    assert_eq!(
        e,
        "sluice.toml:2: `server.listen`: expected an address like `127.0.0.1:8080`"
    );
    let e = parse("[server]\nlistne = \"x\"\n").unwrap_err();
    assert!(
        e.starts_with("sluice.toml:2: unknown field `listne`"),
        "{e}"
    );
    let e =
        parse("[providers.a]\nkind = \"mock\"\n\n[[models]]\nalias = \"x\"\nprovider = \"b\"\n")
            .unwrap_err();
    assert_eq!(
        e,
        "sluice.toml:6: `models[0].provider`: unknown provider `b` (configured: a)"
    );
    let e =
        parse("[providers.openai]\nkind = \"openai\"\napi_key = \"sk-live-123\"\n").unwrap_err();
    assert!(
        e.starts_with(
            "sluice.toml:3: `providers.openai.api_key`: secrets are not written in files"
        ),
        "{e}"
    );
    let e = parse(
        "[providers.openai]\nkind = \"openai\"\napi_key = \"env:SLUICE_TEST_UNSET_VARIABLE\"\n",
    )
    .unwrap_err();
    assert_eq!(
        e,
        "sluice.toml:3: `providers.openai.api_key`: environment variable `SLUICE_TEST_UNSET_VARIABLE` is not set"
    );
    let e = parse("[providers.x]\nkind = \"cohere\"\n").unwrap_err();
    assert!(
        e.starts_with("sluice.toml:2: `providers.x.kind`: unknown kind `cohere`"),
        "{e}"
    );
    let e = parse("[providers.x]\nkind = \"openai_compatible\"\nbase_url = \"http://h\"\nflavor = \"llamacpp\"\n").unwrap_err();
    assert!(
        e.starts_with("sluice.toml:4: `providers.x.flavor`: expected one of"),
        "{e}"
    );
    let e = parse("[server]\nworkers = \"two\"\n").unwrap_err();
    assert!(e.starts_with("sluice.toml:2: invalid type"), "{e}");
}

#[test]
fn providers_and_models_are_built() {
    let env = |name: &str| (name == "OPENAI_API_KEY").then(|| "sk-123".to_owned());
    let settings = Settings::parse(
        "f",
        r#"
[providers.openai]
kind = "openai"
api_key = "env:OPENAI_API_KEY"
first_byte_timeout_ms = 1500

[providers.claude]
kind = "anthropic"

[providers.local]
kind = "openai_compatible"
flavor = "vllm"
base_url = "http://127.0.0.1:8000/v1"

[[models]]
alias = "gpt"
provider = "openai"
model = "gpt-4o-mini"

[[models]]
alias = "claude-sonnet"
provider = "claude"
"#,
        false,
        &env,
    )
    .unwrap();
    assert_eq!(settings.providers.len(), 3);
    assert_eq!(
        settings.models[0].deployments[0].upstream_model,
        "gpt-4o-mini"
    );
    assert_eq!(
        settings.models[1].deployments[0].upstream_model,
        "claude-sonnet"
    );
    let openai = settings
        .providers
        .iter()
        .find(|it| it.name == "openai")
        .unwrap();
    let ProviderConfig::OpenAi(config) = &openai.config else {
        panic!("openai kind")
    };
    assert_eq!(config.timeouts.first_byte, Duration::from_millis(1500));
    assert!(!format!("{config:?}").contains("sk-123"));
}

#[test]
fn the_master_key_comes_from_the_environment_a_file_or_nowhere() {
    let settings = Settings::parse("<defaults>", "", true, &no_env).unwrap();
    assert!(
        matches!(&settings.security.master_key, MasterKeySource::File(path) if path.ends_with("sluice-data/master.key"))
    );
    assert!(!settings.security.allow_private_upstreams);
    let postgres =
        |name: &str| (name == "SLUICE_DATABASE_URL").then(|| "postgres://u@h/db".to_owned());
    let settings = Settings::parse("<defaults>", "", true, &postgres).unwrap();
    assert!(
        matches!(settings.security.master_key, MasterKeySource::Missing),
        "nodes sharing a database must not each invent a key"
    );
    let current = domain::crypto::MasterKey::generate();
    let old = domain::crypto::MasterKey::generate();
    let (current_b64, old_b64) = (current.to_base64(), old.to_base64());
    let env = |name: &str| match name {
        "SLUICE_MASTER_KEY" => Some(current_b64.clone()),
        "SLUICE_MASTER_KEY_PREVIOUS" => Some(format!(" {old_b64} ,")),
        _ => None,
    };
    let settings = Settings::parse("<defaults>", "", true, &env).unwrap();
    match settings.security.master_key {
        MasterKeySource::Env {
            current: got,
            previous,
        } => {
            assert_eq!(got.id(), current.id());
            assert_eq!(previous.len(), 1);
            assert_eq!(previous[0].id(), old.id());
        }
        other => panic!("{other:?}"),
    }
    let bad = |name: &str| (name == "SLUICE_MASTER_KEY").then(|| "c2hvcnQ=".to_owned());
    let e = Settings::parse("<defaults>", "", true, &bad).unwrap_err();
    assert!(
        e.0.contains("SLUICE_MASTER_KEY") && e.0.contains("32 bytes"),
        "{e}"
    );
    let e = parse("[security]\nallow_private = true\n").unwrap_err();
    assert!(e.contains("allow_private"), "{e}");
}

#[test]
fn database_passwords_are_redacted() {
    assert_eq!(
        redact_url("postgres://u:pw@h:5432/db"),
        "postgres://u:***@h:5432/db"
    );
    assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
}

const TWO_PROVIDERS: &str = "[providers.a]\nkind = \"mock\"\n\n[providers.b]\nkind = \"mock\"\n\n";

#[test]
fn a_model_takes_a_list_of_deployments_with_a_strategy_and_retries() {
    let settings = parse(&format!(
        "{TWO_PROVIDERS}[[models]]\nalias = \"gpt\"\nstrategy = \"weighted\"\nmax_attempts = 3\ntimeout_ms = 20000\nbackoff_ms = 50\n\n\
         [[models.deployments]]\nprovider = \"a\"\nmodel = \"gpt-4o\"\nweight = 3\nregion = \"eu\"\n\n\
         [[models.deployments]]\nprovider = \"b\"\nweight = 1\npriority = 1\n\n\
         [[models.deployments]]\nname = \"b-mini\"\nprovider = \"b\"\nmodel = \"mini\"\nweight = 0\n"
    ))
    .unwrap();
    let model = &settings.models[0];
    assert_eq!(model.strategy, gateway::routing::Strategy::Weighted);
    assert_eq!(model.retry.max_attempts, 3);
    assert_eq!(model.retry.total_timeout, Some(Duration::from_secs(20)));
    assert_eq!(model.retry.backoff, Duration::from_millis(50));
    let names: Vec<&str> = model
        .deployments
        .iter()
        .map(|it| it.name.as_str())
        .collect();
    // A provider used once names its deployment; used twice, provider/model does.
    assert_eq!(names, ["a", "b/gpt", "b-mini"]);
    assert_eq!(model.deployments[0].upstream_model, "gpt-4o");
    assert_eq!(model.deployments[0].region.as_deref(), Some("eu"));
    assert_eq!(
        (model.deployments[1].weight, model.deployments[1].priority),
        (1, 1)
    );
    assert_eq!(model.owned_by, "a");

    // Without a list: one deployment, tried once, as before.
    let settings = parse(&format!(
        "{TWO_PROVIDERS}[[models]]\nalias = \"x\"\nprovider = \"a\"\n"
    ))
    .unwrap();
    assert_eq!(settings.models[0].deployments.len(), 1);
    assert_eq!(settings.models[0].retry.max_attempts, 1);
    assert_eq!(
        settings.models[0].breaker,
        Some(gateway::breaker::BreakerPolicy::default())
    );
    let settings = parse(&format!(
        "{TWO_PROVIDERS}[[models]]\nalias = \"x\"\nprovider = \"a\"\nbreaker = {{ enabled = false }}\n\n\
         [[models]]\nalias = \"y\"\nprovider = \"a\"\nbreaker = {{ consecutive_failures = 2, cooldown_secs = 5 }}\n"
    ))
    .unwrap();
    assert_eq!(settings.models[0].breaker, None);
    let policy = settings.models[1].breaker.unwrap();
    assert_eq!(
        (policy.consecutive_failures, policy.cooldown),
        (2, Duration::from_secs(5))
    );
}

#[test]
fn bad_routes_are_refused_with_file_line_and_key() {
    let cases = [
        (
            "alias = \"x\"\n",
            "sluice.toml:8: `models[0].provider`: missing: give `provider` or a list of `deployments`",
        ),
        (
            "alias = \"x\"\ndeployments = []\n",
            "sluice.toml:9: `models[0].deployments`: is empty: a model needs at least one deployment",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\ndeployments = [{provider = \"b\"}]\n",
            "sluice.toml:9: `models[0].provider`: give either `provider` (one deployment) or `deployments`, not both",
        ),
        (
            "alias = \"x\"\ndeployments = [{provider = \"zz\"}]\n",
            "sluice.toml:9: `models[0].deployments[0].provider`: unknown provider `zz` (configured: a, b)",
        ),
        (
            "alias = \"x\"\ndeployments = [{provider = \"a\", weight = -1}]\n",
            "sluice.toml:9: `models[0].deployments[0].weight`: must be between 0 and 1000000, not -1",
        ),
        (
            "alias = \"x\"\nstrategy = \"weighted\"\ndeployments = [{provider = \"a\", weight = 0}, {provider = \"b\", weight = 0}]\n",
            "sluice.toml:9: `models[0].deployments`: every weight is 0: at least one deployment needs a positive weight",
        ),
        (
            "alias = \"x\"\nstrategy = \"fastest\"\nprovider = \"a\"\n",
            "sluice.toml:9: `models[0].strategy`: unknown strategy `fastest` (one of: priority, weighted, round_robin, least_latency, least_cost, usage_aware, split)",
        ),
        (
            "alias = \"x\"\ndeployments = [{provider = \"a\"}, {provider = \"a\"}]\n",
            "sluice.toml:9: `models[0].deployments[1].name`: `a/x` names two deployments of this model; give each a distinct `name`",
        ),
        (
            "alias = \"x\"\ndeployments = [{provider = \"a\", name = \"caf\u{e9}\"}]\n",
            "sluice.toml:9: `models[0].deployments[0].name`: must be 1 to 100 visible ASCII characters (it is sent in a response header)",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\nmax_attempts = 0\n",
            "sluice.toml:10: `models[0].max_attempts`: must be between 1 and 10, not 0",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\ntimeout_ms = 900000\n",
            "sluice.toml:10: `models[0].timeout_ms`: must be between 1 and 600000, not 900000",
        ),
        (
            "alias = \"x\"\ndeployments = [{provider = \"a\", colour = \"red\"}]\n",
            "unknown field `colour`",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\nbreaker = { cooldown_secs = 0 }\n",
            "sluice.toml:10: `models[0].breaker.cooldown_secs`: must be between 1 and 3600, not 0",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\nbreaker = { error_rate_percent = 150 }\n",
            "sluice.toml:10: `models[0].breaker.error_rate_percent`: must be between 1 and 100, not 150",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\nbreaker = { open = true }\n",
            "unknown field `open`",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\ncache = { ttl_secs = 0 }\n",
            "sluice.toml:10: `models[0].cache.ttl_secs`: must be between 1 and 604800, not 0",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\ncache = { ttl_secs = 9999999 }\n",
            "sluice.toml:10: `models[0].cache.ttl_secs`: must be between 1 and 604800, not 9999999",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\ncache = {}\n",
            "missing field `ttl_secs`",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\ncache = { ttl_secs = 5, semantic = { embedding_model = \"x\" } }\n",
            "sluice.toml:10: `models[0].cache.semantic.embedding_model`: must name another model: the one whose embeddings compare this model's prompts",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\ncache = { ttl_secs = 5, semantic = { embedding_model = \"nope\" } }\n\n[[models]]\nalias = \"e\"\nprovider = \"b\"\n",
            "sluice.toml:10: `models[0].cache.semantic.embedding_model`: unknown model `nope` (configured: e)",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\ncache = { ttl_secs = 5, semantic = { embedding_model = \"e\", threshold = 0.3 } }\n\n[[models]]\nalias = \"e\"\nprovider = \"b\"\n",
            "sluice.toml:10: `models[0].cache.semantic.threshold`: must be a number from 0.5 to 1.0, not 0.3",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\ncache = { ttl_secs = 5, semantic = { embedding_model = \"e\", threshold = 1.5 } }\n\n[[models]]\nalias = \"e\"\nprovider = \"b\"\n",
            "sluice.toml:10: `models[0].cache.semantic.threshold`: must be a number from 0.5 to 1.0, not 1.5",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\ncache = { ttl_secs = 5, semantic = { embedding_model = \"e\", max_entries = 0 } }\n\n[[models]]\nalias = \"e\"\nprovider = \"b\"\n",
            "sluice.toml:10: `models[0].cache.semantic.max_entries`: must be between 1 and 100000, not 0",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\ncache = { ttl_secs = 5, semantic = { embedding_model = \"e\", max_entries = 100001 } }\n\n[[models]]\nalias = \"e\"\nprovider = \"b\"\n",
            "sluice.toml:10: `models[0].cache.semantic.max_entries`: must be between 1 and 100000, not 100001",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\ncache = { ttl_secs = 5, semantic = { threshold = 0.9 } }\n",
            "missing field `embedding_model`",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\ncache = { semantic = { embedding_model = \"e\" } }\n",
            "missing field `ttl_secs`",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\ncache = { ttl_secs = 5, semantic = { embedding_model = \"e\", radius = 2 } }\n",
            "unknown field `radius`",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\nhealth_check = { interval_secs = 0 }\n",
            "sluice.toml:10: `models[0].health_check.interval_secs`: must be between 1 and 3600, not 0",
        ),
        (
            "alias = \"x\"\nprovider = \"a\"\nhealth_check = { interval_secs = 2, timeout_ms = 5000 }\n",
            "sluice.toml:10: `models[0].health_check.timeout_ms`: must be between 100 and 2000, not 5000",
        ),
        (
            "alias = \"x\"\ndeployments = [{provider = \"a\", cost = -1.5}]\n",
            "sluice.toml:9: `models[0].deployments[0].cost`: must be a number from 0 to 1000000000, not -1.5",
        ),
        (
            "alias = \"x\"\ndeployments = [{provider = \"a\", rpm = 0}]\n",
            "sluice.toml:9: `models[0].deployments[0].rpm`: must be between 1 and 4294967295, not 0",
        ),
        (
            "alias = \"x\"\ndeployments = [{provider = \"a\", tpm = -5}]\n",
            "sluice.toml:9: `models[0].deployments[0].tpm`: must be between 1 and 4294967295, not -5",
        ),
        (
            "alias = \"x\"\nstrategy = \"usage_aware\"\ndeployments = [{provider = \"a\"}, {provider = \"b\"}]\n",
            "sluice.toml:9: `models[0].strategy`: `usage_aware` ranks deployments by their ceilings: set `rpm` or `tpm` on at least one deployment",
        ),
        (
            "alias = \"x\"\nstrategy = \"split\"\ndeployments = [{provider = \"a\", weight = 0}, {provider = \"b\", weight = 0}]\n",
            "sluice.toml:9: `models[0].deployments`: every weight is 0: at least one deployment needs a positive weight",
        ),
        (
            "alias = \"x\"\ndeployments = [{provider = \"a\", shadow = true}]\n",
            "sluice.toml:9: `models[0].deployments`: every deployment is a shadow: at least one must answer callers",
        ),
        (
            "alias = \"x\"\ndeployments = [{provider = \"a\", variant = \" \"}]\n",
            "sluice.toml:9: `models[0].deployments[0].variant`: must be 1 to 100 visible ASCII characters",
        ),
        (
            "[cache]\nmax_bytes = -1\n",
            "sluice.toml:9: invalid value: integer `-1`, expected u64",
        ),
    ];
    for (model, expected) in cases {
        let e = parse(&format!("{TWO_PROVIDERS}[[models]]\n{model}")).unwrap_err();
        assert!(e.contains(expected), "{model}: got {e}");
    }
}

#[test]
fn a_semantic_cache_names_an_embedding_model_with_defaults_for_the_rest() {
    let settings = parse(&format!(
        "{TWO_PROVIDERS}[[models]]\nalias = \"chat\"\nprovider = \"a\"\n\
         cache = {{ ttl_secs = 300, semantic = {{ embedding_model = \"embed\", threshold = 0.95, multi_turn = true, max_entries = 50 }} }}\n\n\
         [[models]]\nalias = \"plain\"\nprovider = \"a\"\ncache = {{ ttl_secs = 60, semantic = {{ embedding_model = \"embed\" }} }}\n\n\
         [[models]]\nalias = \"embed\"\nprovider = \"b\"\n"
    ))
    .unwrap();
    let policy = settings.models[0].semantic.clone().unwrap();
    assert_eq!(&*policy.embedding_model, "embed");
    assert_eq!(policy.threshold.parts(), 9500);
    assert!(policy.multi_turn);
    assert_eq!(policy.max_entries, 50);
    let defaults = settings.models[1].semantic.clone().unwrap();
    assert_eq!(defaults.threshold.parts(), 9200);
    assert!(!defaults.multi_turn);
    assert_eq!(defaults.max_entries, 1000);
    assert_eq!(settings.models[2].semantic, None);
}

#[test]
fn deployments_take_per_minute_ceilings_for_the_usage_aware_strategy() {
    let settings = parse(&format!(
        "{TWO_PROVIDERS}[[models]]\nalias = \"gpt\"\nstrategy = \"usage_aware\"\n\n\
         [[models.deployments]]\nprovider = \"a\"\nrpm = 600\ntpm = 90000\n\n\
         [[models.deployments]]\nprovider = \"b\"\n"
    ))
    .unwrap();
    let model = &settings.models[0];
    assert_eq!(model.strategy, gateway::routing::Strategy::UsageAware);
    assert_eq!(
        (model.deployments[0].rpm, model.deployments[0].tpm),
        (Some(600), Some(90_000))
    );
    assert_eq!(
        (model.deployments[1].rpm, model.deployments[1].tpm),
        (None, None)
    );
}

#[test]
fn experiments_label_their_arms_and_shadows_are_recorded_by_name() {
    let settings = parse(&format!(
        "{TWO_PROVIDERS}[[models]]\nalias = \"exp\"\nstrategy = \"split\"\n\
         deployments = [{{ provider = \"a\", weight = 90 }}, {{ provider = \"b\", weight = 10, variant = \"trial\" }}]\n\n\
         [[models]]\nalias = \"plain\"\n\
         deployments = [{{ provider = \"a\" }}, {{ name = \"mirror\", provider = \"b\", shadow = true }}]\n"
    ))
    .unwrap();
    let arms: Vec<Option<&str>> = settings.models[0]
        .deployments
        .iter()
        .map(|it| it.variant.as_deref())
        .collect();
    assert_eq!(arms, [Some("a"), Some("trial")]);
    assert_eq!(
        settings.models[0].strategy,
        gateway::routing::Strategy::Split
    );
    let plain = &settings.models[1].deployments;
    assert_eq!(
        (plain[0].variant.as_deref(), plain[0].shadow),
        (None, false)
    );
    assert_eq!(
        (plain[1].variant.as_deref(), plain[1].shadow),
        (Some("mirror"), true)
    );
}

#[test]
fn pricing_takes_the_defaults_the_operators_lists_and_a_markup() {
    let settings = parse("").unwrap();
    assert!(
        settings.prices.entries.len() > 20,
        "the shipped defaults apply with no [pricing] table"
    );
    let settings = parse(
        "[pricing]\nmarkup_percent = \"12.5\"\n\n[[pricing.cost]]\nprovider = \"local\"\nmodel = \"llama\"\ninput = \"0.01\"\noutput = \"0.02\"\neffective_from = \"2026-12-01\"\n\n[[pricing.price]]\nprovider = \"*\"\nmodel = \"llama\"\ninput = \"1\"\noutput = \"2\"\n",
    )
    .unwrap();
    assert_eq!(settings.prices.markups[0].basis_points, 1_250);
    let own: Vec<_> = settings
        .prices
        .entries
        .iter()
        .filter(|it| it.model == "llama")
        .collect();
    assert_eq!(own.len(), 2);
    assert_eq!(own[0].rates.input.to_string(), "0.01");
    let settings = parse("[pricing]\ncurrency = \"EUR\"\ninclude_defaults = false\n").unwrap();
    assert!(settings.prices.entries.is_empty());
    assert_eq!(settings.prices.currency.as_str(), "EUR");
    assert_eq!(settings.tax, None, "taxes are left to the payment provider");
    let settings = parse("[pricing]\ntax_percent = \"19.5\"\n").unwrap();
    assert_eq!(
        settings.tax,
        Some(domain::invoice::TaxRule {
            label: "Tax".into(),
            basis_points: 1_950
        })
    );
    let settings = parse("[pricing]\ntax_percent = \"0\"\ntax_label = \" MwSt \"\n").unwrap();
    assert_eq!(settings.tax.unwrap().label, "MwSt");
}

#[test]
fn bad_prices_are_refused_by_line_and_key() {
    let line = |extra: &str| {
        format!("[pricing]\n\n[[pricing.cost]]\nprovider = \"p\"\nmodel = \"m\"\n{extra}")
    };
    for (text, expected) in [
        (
            line("input = \"-1\"\noutput = \"1\"\n"),
            "sluice.toml:6: `pricing.cost[0].input`: `-1` must not be negative",
        ),
        (
            line("input = \"0.0000000001\"\noutput = \"1\"\n"),
            "`pricing.cost[0].input`: `0.0000000001` has more than 9 decimal places",
        ),
        (
            line("input = \"1e-7\"\noutput = \"1\"\n"),
            "`pricing.cost[0].input`: `1e-7` is not a decimal number",
        ),
        (
            line("input = 0.15\noutput = \"1\"\n"),
            "invalid type: floating point `0.15`, expected a string",
        ),
        (line("input = \"1\"\n"), "missing field `output`"),
        (
            line("input = \"1\"\noutput = \"1\"\neffective_from = \"2026-13-01\"\n"),
            "`pricing.cost[0].effective_from`",
        ),
        (
            format!(
                "{}\n[[pricing.cost]]\nprovider = \"p\"\nmodel = \"m\"\ninput = \"2\"\noutput = \"1\"\n",
                line("input = \"1\"\noutput = \"1\"\n")
            ),
            "`pricing.cost[1].model`: is listed twice",
        ),
        (
            "[pricing]\nmarkup_percent = \"12.345\"\n".to_owned(),
            "`pricing.markup_percent`: `12.345` has more than two decimal places",
        ),
        (
            "[pricing]\nmarkup_percent = \"-101\"\n".to_owned(),
            "outside −100 to 1000",
        ),
        (
            "[pricing]\ncurrency = \"usd\"\n".to_owned(),
            "`pricing.currency`: is not a currency code",
        ),
        (
            "[pricing]\ncurrency = \"EUR\"\n".to_owned(),
            "the shipped default prices are in USD",
        ),
        (
            "[pricing]\nmarkup = \"1\"\n".to_owned(),
            "unknown field `markup`",
        ),
        (
            "[pricing]\ntax_percent = \"101\"\n".to_owned(),
            "`pricing.tax_percent`: must be a percentage from 0 to 100",
        ),
        (
            "[pricing]\ntax_percent = \"-1\"\n".to_owned(),
            "`pricing.tax_percent`: must be a percentage from 0 to 100",
        ),
        (
            "[pricing]\ntax_percent = \"7.125\"\n".to_owned(),
            "`pricing.tax_percent`",
        ),
        ("[pricing]\ntax_percent = 20\n".to_owned(), "invalid type"),
        (
            "[pricing]\ntax_label = \"VAT\"\n".to_owned(),
            "`pricing.tax_label`: names a tax that `tax_percent` does not set",
        ),
        (
            "[pricing]\ntax_percent = \"20\"\ntax_label = \"\"\n".to_owned(),
            "`pricing.tax_label`: must be 1 to 40 printable characters",
        ),
    ] {
        let e = parse(&text).unwrap_err();
        assert!(e.contains(expected), "{expected}\n  got: {e}");
    }
}

#[test]
fn stripe_is_off_without_a_key_and_needs_its_secret_and_since_with_one() {
    use secrecy::ExposeSecret;
    assert!(parse("").unwrap().stripe.is_none());
    let env = |name: &str| match name {
        "STRIPE_KEY" => Some("sk_test_1".to_owned()),
        "STRIPE_WHSEC" => Some("whsec_1".to_owned()),
        _ => None,
    };
    let with = |text: &str| Settings::parse("sluice.toml", text, false, &env).map_err(|e| e.0);
    let full = "[stripe]\nsecret_key = \"env:STRIPE_KEY\"\nwebhook_secret = \"env:STRIPE_WHSEC\"\n\
                since = \"2027-01-01T00:00:00Z\"\n";
    let stripe = with(full).unwrap().stripe.unwrap();
    assert_eq!(stripe.secret_key.expose_secret(), "sk_test_1");
    assert_eq!(stripe.api_base, "https://api.stripe.com/");
    assert_eq!(stripe.days_until_due, Some(30));
    assert_eq!(stripe.grace, time::Duration::days(14));
    assert_eq!(stripe.since.year(), 2027);
    let charged = with(&format!("{full}days_until_due = 0\ngrace_days = 0\n"))
        .unwrap()
        .stripe
        .unwrap();
    assert_eq!(charged.days_until_due, None);
    assert_eq!(charged.grace, time::Duration::ZERO);
    for (text, wanted) in [
        (
            "[stripe]\nsecret_key = \"sk_live_in_the_file\"\n",
            "sluice.toml:2: `stripe.secret_key`: secrets are not written in files",
        ),
        (
            "[stripe]\nsecret_key = \"env:STRIPE_KEY\"\nsince = \"2027-01-01T00:00:00Z\"\n",
            "`stripe.webhook_secret` (or SLUICE_STRIPE_WEBHOOK_SECRET) is required",
        ),
        (
            "[stripe]\nsecret_key = \"env:STRIPE_KEY\"\nwebhook_secret = \"env:STRIPE_WHSEC\"\n",
            "`stripe.since` (or SLUICE_STRIPE_SINCE) is required",
        ),
        (
            "[stripe]\nsecret_key = \"env:STRIPE_KEY\"\nwebhook_secret = \"env:STRIPE_WHSEC\"\n\
             since = \"January\"\n",
            "sluice.toml:4: `stripe.since`: is not an RFC 3339 time",
        ),
        (
            &format!("{full}api_base = \"ftp://stripe\"\n"),
            "`stripe.api_base`: `ftp://stripe` is not an http(s) URL",
        ),
        (
            &format!("{full}grace_days = 400\n"),
            "`stripe.grace_days`: 400 is over 365",
        ),
        (
            "[stripe]\nsecret_key = \"env:NOT_SET\"\n",
            "environment variable `NOT_SET` is not set",
        ),
        (
            &format!("{full}currency = \"usd\"\n"),
            "unknown field `currency`",
        ),
    ] {
        let e = with(text).unwrap_err();
        assert!(e.contains(wanted), "{text}: {e}");
    }
}

#[test]
fn usage_is_written_128_records_at_a_time_on_the_embedded_database_and_500_on_postgres() {
    let batch = |file: &str, env: &dyn Fn(&str) -> Option<String>| {
        Settings::parse("<test>", file, true, env)
            .unwrap()
            .usage
            .batch_size
    };
    assert_eq!(batch("", &no_env), 128);
    let postgres =
        |name: &str| (name == "SLUICE_DATABASE_URL").then(|| "postgres://u@h/db".to_owned());
    assert_eq!(batch("", &postgres), 500);
    assert_eq!(batch("[usage]\nbatch_size = 20\n", &no_env), 20);
}
