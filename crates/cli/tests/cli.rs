//! The `datapact` binary as a user runs it: serve, then talk to it.

mod common;

use common::{Served, datapact, text};

#[test]
fn bad_catalog_is_refused_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("products.toml");
    std::fs::write(
        &path,
        "version = 1\n[[products]]\nid = \"a\"\nname = \"A\"\nprovide_services = true\ntrain_vendor_models = false\nfinetune_third_party = false\ngenai = \"maybe\"\n",
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let out = datapact(&["catalog", "check", p], &[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("{p}:8:")) && err.contains("field `genai`"),
        "{err}"
    );

    let out = datapact(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.path().join("d").to_str().unwrap(),
            "--catalog",
            p,
        ],
        &[],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{p}:8:")) && err.contains("genai"), "{err}");

    std::fs::write(&path, "version = 1\n[[products]]\nid = \"a\"\nname = \"A\"\nprovide_services = true\ntrain_vendor_models = false\nfinetune_third_party = false\ngenai = \"none\"\nowner = \"x\"\n").unwrap();
    let err = text(&datapact(&["catalog", "check", p], &[]).stderr);
    assert!(err.contains(":9:") && err.contains("field `owner`"), "{err}");

    let out = datapact(&["catalog", "check", "catalog/does-not-exist.toml"], &[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("does-not-exist.toml"));

    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/../../catalog/products.toml");
    let out = datapact(&["catalog", "check", shipped], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("28 products"));
}

/// `datapact serve` with a configuration file and a data directory in `dir`.
fn serve_with_config(dir: &tempfile::TempDir, cfg: &std::path::Path) -> std::process::Output {
    datapact(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.path().join("d").to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ],
        &[],
    )
}

#[test]
fn bad_config_is_refused_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("datapact.toml");
    std::fs::write(&cfg, "# regions\nregions = [\"eu\", \"us\"]\nlisten_port = 9\n").unwrap();
    let out = serve_with_config(&dir, &cfg);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("{}:3", cfg.display())) && err.contains("listen_port"),
        "{err}"
    );
}

#[test]
fn a_provider_without_its_key_stops_the_server_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("datapact.toml");
    std::fs::write(
        &cfg,
        "[[providers]]\nname = \"openai-eu\"\nkind = \"third_party\"\napi = \"openai\"\n\
         base_url = \"https://example.invalid/v1\"\nregion = \"eu\"\nmodels = [\"gpt-4o-mini\"]\n\
         api_key_env = \"DATAPACT_TEST_NO_SUCH_KEY\"\n",
    )
    .unwrap();
    let out = serve_with_config(&dir, &cfg);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("openai-eu") && err.contains("DATAPACT_TEST_NO_SUCH_KEY is not set"),
        "{err}"
    );
}

#[test]
fn catalog_show_matches_the_seed_form() {
    let out = datapact(&["catalog", "show", "--builtin"], &[]);
    assert!(out.status.success());
    let table = text(&out.stdout);
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no row {name}"))
            .to_string()
    };
    let marks = |l: String| {
        l.split('┆')
            .skip(1)
            .take(5)
            .map(|c| c.trim().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(marks(row("AI Center ")), ["✅", "❌", "❌", "N/A", "N/A"]);
    assert_eq!(marks(row("Agent Builder")), ["✅", "✅", "✅", "❌", "❌"]);
    assert_eq!(marks(row("Integration Service")), ["✅", "❌", "✅", "✅", "✅"]);
    let cm = &marks(row("Communications Mining"))[1];
    assert!(
        cm.starts_with("✅") && cm.chars().count() == 2,
        "training mark carries a footnote: {cm}"
    );
    assert!(table.contains("design_time data only"));
}

#[test]
fn first_start_prints_a_key_once_and_the_cli_drives_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let admin;
    {
        let s = Served::start(&data, &[], &[]);
        let line = s
            .stdout_head
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("dpk_"))
            .expect("a generated key");
        admin = line.to_string();
        let org = s.json(
            &admin,
            &[
                "org",
                "create",
                "--name",
                "Acme",
                "--plan",
                "enterprise",
                "--region",
                "eu",
            ],
        );
        let org_id = org["id"].as_str().unwrap();
        let oa = s.json(&admin, &["api-key", "create", "--role", "org_admin", "--org", org_id]);
        let oa = oa["key"].as_str().unwrap();
        let t = s.json(oa, &["tenant", "create", "--org", org_id, "--name", "prod"]);
        let tenant = t["id"].as_str().unwrap();

        let out = s.cli(
            oa,
            &[
                "decide",
                "--tenant",
                tenant,
                "--product",
                "ixp",
                "--purpose",
                "vendor_training",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(text(&out.stdout).starts_with("ALLOWED"));
        s.json(
            &admin,
            &[
                "opt-out",
                "add",
                "--org",
                org_id,
                "--ticket",
                "SUP-9",
                "--requested-by",
                "dpo",
            ],
        );
        let out = s.cli(
            oa,
            &[
                "decide",
                "--tenant",
                tenant,
                "--product",
                "ixp",
                "--purpose",
                "vendor_training",
            ],
        );
        assert_eq!(out.status.code(), Some(3), "denied exits 3");
        assert!(text(&out.stdout).contains("opted_out"));
        let out = s.cli(
            oa,
            &[
                "decide",
                "--tenant",
                tenant,
                "--product",
                "ixp",
                "--purpose",
                "genai",
                "--region",
                "mars",
            ],
        );
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert!(err.contains("unknown_region") && err.contains("field: region"), "{err}");

        let settings = s.json(
            oa,
            &[
                "ai-settings",
                "set",
                "--org",
                org_id,
                r#"{"genai_enabled": false, "locked": ["genai_enabled"]}"#,
            ],
        );
        assert_eq!(settings["locked"][0], "genai_enabled");
        // `set` changes only the fields it is given (a JSON merge patch; null removes one):
        // the lock and the policies stay.
        let policies = dir.path().join("ai.cedar");
        std::fs::write(&policies, "permit(principal, action, resource);\n").unwrap();
        let out = s.cli(
            oa,
            &["ai-settings", "policies", "--org", org_id, policies.to_str().unwrap()],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let settings = s.json(
            oa,
            &[
                "ai-settings",
                "set",
                "--org",
                org_id,
                r#"{"save_prompts": true, "genai_enabled": null}"#,
            ],
        );
        assert_eq!(settings["locked"], serde_json::json!(["genai_enabled"]), "{settings}");
        assert!(
            settings["policies"].as_str().is_some_and(|p| p.contains("permit")),
            "{settings}"
        );
        assert_eq!(
            (settings["save_prompts"].as_bool(), settings.get("genai_enabled")),
            (Some(true), None)
        );
        // `replace` is the explicit whole-document write.
        let settings = s.json(oa, &["ai-settings", "replace", "--org", org_id, r#"{"pii": "block"}"#]);
        assert_eq!(
            (settings.get("locked"), settings["pii"].as_str()),
            (None, Some("block")),
            "{settings}"
        );
        let out = s.cli(oa, &["ai-settings", "set", "--tenant", tenant, "{not json"]);
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains("line 1"), "{}", text(&out.stderr));
        let av = s.json(oa, &["tenant", "products", tenant]);
        assert_eq!(av.as_array().unwrap().len(), 28);
        let out = s.cli(
            oa,
            &[
                "support-grant",
                "create",
                "--tenant",
                tenant,
                "--ticket",
                "SUP-10",
                "--expires-in",
                "2d",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let out = s.cli(
            oa,
            &[
                "support-grant",
                "create",
                "--tenant",
                tenant,
                "--ticket",
                "SUP-11",
                "--expires-in",
                "9d",
            ],
        );
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains("invalid_expiry"));
        let out = s.cli("dpk_nonsense", &["whoami"]);
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains("401"));
        let table = text(&s.cli(&admin, &["org", "list"]).stdout);
        assert!(table.contains("Acme") && table.contains("enterprise"), "{table}");
    }
    // A restart keeps everything and prints no new key.
    let s = Served::start(&data, &[], &[]);
    assert!(!s.stdout_head.contains("dpk_"), "{}", s.stdout_head);
    let orgs = s.json(&admin, &["org", "list"]);
    assert_eq!(orgs.as_array().unwrap().len(), 1);
}

#[test]
fn admin_key_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = datapact(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.path().join("d").to_str().unwrap(),
        ],
        &[("DATAPACT_ADMIN_KEY", "short")],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("DATAPACT_ADMIN_KEY is too short"),
        "{}",
        text(&out.stderr)
    );
    // Refused before anything was written: no data directory, keys or databases.
    assert!(!dir.path().join("d").exists(), "the data directory was created");
    let key = "an-operator-chosen-key-of-decent-length";
    let s = Served::start(&dir.path().join("d"), &[], &[("DATAPACT_ADMIN_KEY", key)]);
    assert!(!s.stdout_head.contains("dpk_"));
    assert_eq!(s.json(key, &["whoami"])["role"], "platform_admin");
}

#[test]
fn removing_a_region_that_holds_data_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let key = "an-operator-chosen-key-of-decent-length";
    {
        let s = Served::start(&data, &[], &[("DATAPACT_ADMIN_KEY", key)]);
        s.json(
            key,
            &["org", "create", "--name", "US Co", "--plan", "free", "--region", "us"],
        );
    }
    let cfg = dir.path().join("eu-only.toml");
    std::fs::write(&cfg, "regions = [\"eu\"]\n").unwrap();
    let out = datapact(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("region `us`") && err.contains("regions"), "{err}");
}

#[test]
fn one_data_directory_one_server_and_a_busy_port_prints_no_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let s = Served::start(&data, &[], &[]);
    let out = datapact(
        &["serve", "--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()],
        &[],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("another datapact server is using the data directory"),
        "{err}"
    );
    // A port already taken fails before anything is created or printed.
    let addr = s.url.trim_start_matches("http://").to_string();
    let fresh = dir.path().join("fresh");
    let out = datapact(
        &["serve", "--listen", &addr, "--data-dir", fresh.to_str().unwrap()],
        &[],
    );
    assert!(!out.status.success());
    assert!(!text(&out.stdout).contains("dpk_"), "no key printed when start fails");
    assert!(text(&out.stderr).contains("cannot listen on"), "{}", text(&out.stderr));
    let s2 = Served::start(&fresh, &[], &[]);
    assert!(
        s2.stdout_head.contains("dpk_"),
        "the key is printed by the start that succeeds"
    );
}

#[test]
fn hostile_cli_input_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let key = "an-operator-chosen-key-of-decent-length";
    let s = Served::start(&dir.path().join("d"), &[], &[("DATAPACT_ADMIN_KEY", key)]);
    // An id cannot walk to another endpoint.
    let out = s.cli(key, &["org", "get", "../keys", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("404"), "{}", text(&out.stderr));
    // Absurd durations are refused, not a panic.
    for d in ["999999999999d", "99999999999999999999d", "3w", "d"] {
        let out = s.cli(
            key,
            &[
                "support-grant",
                "create",
                "--tenant",
                "ten_x",
                "--ticket",
                "T",
                "--expires-in",
                d,
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{d}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("--expires-in"), "{d}: {}", text(&out.stderr));
    }
    // Global options go before or after the command.
    let out = datapact(&["--url", &s.url, "--key", key, "whoami", "--json"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn removing_a_product_that_stored_state_names_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let key = "an-operator-chosen-key-of-decent-length";
    {
        let s = Served::start(&data, &[], &[("DATAPACT_ADMIN_KEY", key)]);
        s.json(key, &["api-key", "create", "--role", "service", "--product", "ixp"]);
    }
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../catalog/products.toml")).unwrap();
    let start = shipped.find("id = \"ixp\"").unwrap();
    let block_start = shipped[..start].rfind("[[products]]").unwrap();
    let block_end = block_start + 12 + shipped[block_start + 12..].find("[[products]]").unwrap();
    let without = format!("{}{}", &shipped[..block_start], &shipped[block_end..]);
    let cat = dir.path().join("no-ixp.toml");
    std::fs::write(&cat, without).unwrap();
    let out = datapact(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
            "--catalog",
            cat.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("product `ixp`") && err.contains("catalog"), "{err}");
    // And an error is said once, not repeated by each layer.
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "regions = [\n  \"eu\",\n  \"EU\",\n]\n").unwrap();
    let out = datapact(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ],
        &[],
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("{}:3", cfg.display())),
        "points at the bad value's line: {err}"
    );
    assert_eq!(err.matches("invalid region").count(), 1, "{err}");
}

#[test]
fn the_master_secret_must_match_and_must_not_vanish() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let pass = [("DATAPACT_MASTER_PASSPHRASE", "correct horse battery staple")];
    drop(Served::start(&data, &[], &pass));
    let serve = |env: &[(&str, &str)]| {
        datapact(
            &["serve", "--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()],
            env,
        )
    };
    let out = serve(&[("DATAPACT_MASTER_PASSPHRASE", "wrong horse battery staple")]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("DATAPACT_MASTER_PASSPHRASE is wrong"),
        "{}",
        text(&out.stderr)
    );
    let out = serve(&[]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("set DATAPACT_MASTER_PASSPHRASE"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !data.join("master.key").exists(),
        "no fresh key file over existing data"
    );
    // A key-file deployment whose key file is lost does not start either.
    let data2 = dir.path().join("d2");
    drop(Served::start(&data2, &[], &[]));
    std::fs::remove_file(data2.join("master.key")).unwrap();
    let out = datapact(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data2.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("restore it from your backup"),
        "{}",
        text(&out.stderr)
    );
    assert!(Served::start(&data, &[], &pass).stdout_head.contains("listening"));
}

#[test]
fn records_export_purge_and_rotation_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let key = "an-operator-chosen-key-of-decent-length";
    let s = Served::start(&dir.path().join("d"), &[], &[("DATAPACT_ADMIN_KEY", key)]);
    let org = s.json(
        key,
        &["org", "create", "--name", "A", "--plan", "enterprise", "--region", "eu"],
    );
    let org = org["id"].as_str().unwrap();
    let oa = s.json(key, &["api-key", "create", "--role", "org_admin", "--org", org]);
    let oa = oa["key"].as_str().unwrap();
    let tenant = s.json(oa, &["tenant", "create", "--org", org, "--name", "t"]);
    let tenant = tenant["id"].as_str().unwrap();
    let svc = s.json(key, &["api-key", "create", "--role", "service", "--product", "ixp"]);
    let svc = svc["key"].as_str().unwrap();
    let bin = dir.path().join("blob.bin");
    std::fs::write(&bin, [0u8, 1, 2, 255]).unwrap();
    let r = s.json(
        svc,
        &[
            "record",
            "put",
            "--tenant",
            tenant,
            "--product",
            "ixp",
            "--data-kind",
            "run_time",
            "--file",
            bin.to_str().unwrap(),
        ],
    );
    let id = r["id"].as_str().unwrap();
    for i in 0..20 {
        s.json(
            svc,
            &[
                "record",
                "put",
                "--tenant",
                tenant,
                "--product",
                "ixp",
                "--data-kind",
                "run_time",
                "--content",
                &format!("m{i}"),
            ],
        );
    }
    let got = s.json(svc, &["record", "get", "--tenant", tenant, id, "--purpose", "service"]);
    assert_eq!(got["content_base64"], "AAEC/w==");
    let out = s.cli(oa, &["keys", "rotate", "--tenant", tenant]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("21 records re-encrypted"),
        "{}",
        text(&out.stderr)
    );
    let keys = s.json(oa, &["keys", "list", "--tenant", tenant]);
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["version"], 2);
    let export = dir.path().join("out.ndjson");
    let out = s.cli_umask_022(oa, &["export", "--tenant", tenant, "--out", export.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&export).unwrap().lines().count(), 21);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&export).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode, 0o600,
            "the export holds the tenant's data: only its owner may read it"
        );
    }
    let cert = dir.path().join("cert.json");
    // Without a terminal to confirm on, a purge needs --yes; nothing is purged otherwise.
    let out = s.cli(oa, &["purge", "--tenant", tenant]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("pass --yes"), "{}", text(&out.stderr));
    assert!(
        !s.json(oa, &["record", "list", "--tenant", tenant])["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let out = s.cli(
        oa,
        &["purge", "--tenant", tenant, "--yes", "--out", cert.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pk: serde_json::Value = serde_json::from_str(&text(
        &datapact(&["--url", &s.url, "--key", key, "whoami", "--json"], &[]).stdout,
    ))
    .unwrap();
    assert_eq!(pk["role"], "platform_admin");
    let out = datapact(&["verify-certificate", cert.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("records: 21"), "{}", text(&out.stdout));
    let mut tampered: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cert).unwrap()).unwrap();
    tampered["payload"] = serde_json::Value::String(
        tampered["payload"]
            .as_str()
            .unwrap()
            .replace("\"record_count\":21", "\"record_count\":2"),
    );
    std::fs::write(&cert, tampered.to_string()).unwrap();
    let out = datapact(&["verify-certificate", cert.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("signature does not verify"),
        "{}",
        text(&out.stderr)
    );
    // Ids for shells: -o FIELD prints one field (a line per item of a list), -q the id.
    let out = s.cli(
        key,
        &[
            "org", "create", "--name", "B", "--plan", "free", "--region", "eu", "-o", "id",
        ],
    );
    let b = text(&out.stdout).trim().to_string();
    assert!(b.starts_with("org_") && b.len() == 36 && !b.contains('\n'), "{b:?}");
    let out = s.cli(
        key,
        &["api-key", "create", "--role", "auditor", "--org", &b, "-o", "key"],
    );
    assert!(text(&out.stdout).trim().starts_with("dpk_"), "{}", text(&out.stdout));
    let out = s.cli(key, &["org", "list", "-q"]);
    let ids: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    assert!(
        ids.contains(&b) && ids.contains(&org.to_string()) && ids.len() == 2,
        "{ids:?}"
    );
    let out = s.cli(key, &["org", "get", &b, "-o", "nope"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no field `nope`"), "{}", text(&out.stderr));
    // A termination says when its purge will run, and so does the organization.
    let out = s.cli(key, &["org", "terminate", org, "--grace-days", "30"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("every tenant will be purged at "),
        "{}",
        text(&out.stdout)
    );
    let got = s.json(key, &["org", "get", org]);
    assert_eq!(got["status"], "terminating");
    assert!(
        got["termination_due_at"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{got}"
    );
}
