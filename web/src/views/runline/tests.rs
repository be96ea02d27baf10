use super::*;

fn words(text: &str) -> Vec<String> {
    split(text).unwrap()
}

#[test]
fn commands_split_as_a_shell_splits_them() {
    assert_eq!(words("  sh -c  'echo hi'  "), ["sh", "-c", "echo hi"]);
    assert_eq!(
        words(r#"echo "a \"b\" \$c \n" d\ e"#),
        ["echo", r#"a "b" $c \n"#, "d e"]
    );
    assert_eq!(words(r#"a'b'"c" '' """#), ["abc", "", ""]);
    assert_eq!(words("a \\\n b"), ["a", "b"]);
    assert_eq!(words(""), Vec::<String>::new());
    assert_eq!(words("héllo wörld"), ["héllo", "wörld"]);
    assert!(split("echo 'oops").is_err());
    assert!(split("echo \"oops").is_err());
    assert!(split("echo oops\\").is_err());
}

#[test]
fn quoting_reads_back_as_the_same_words() {
    let nasty = [
        "plain",
        "",
        "two words",
        "it's",
        "'",
        "\"",
        "$HOME",
        "`id`",
        "a\\b",
        "tab\there",
        "line\nbreak",
        "--name=x",
        "*",
        "~",
        "#",
        "é",
        "a;b&&c|d>e",
    ];
    assert_eq!(quote("plain"), "plain");
    assert_eq!(quote("/a/b:ro,z"), "/a/b:ro,z");
    assert_eq!(quote("it's"), r#"'it'"'"'s'"#);
    assert_eq!(quote(""), "''");
    let args: Vec<String> = nasty.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(split(&join(&args)).unwrap(), args);
}

#[test]
fn memory_sizes_as_docker_reads_them() {
    assert_eq!(parse_memory("256m"), Ok(256 << 20));
    assert_eq!(parse_memory("1g"), Ok(1 << 30));
    assert_eq!(parse_memory("1G"), Ok(1 << 30));
    assert_eq!(parse_memory("1.5g"), Ok(3 << 29));
    assert_eq!(parse_memory("512MiB"), Ok(512 << 20));
    assert_eq!(parse_memory("2 kb"), Ok(2048));
    assert_eq!(parse_memory("1048576"), Ok(1 << 20));
    assert_eq!(parse_memory("100b"), Ok(100));
    assert_eq!(parse_memory("0.5k"), Ok(512));
    assert_eq!(parse_memory("1.0001k"), Ok(1024));
    assert_eq!(parse_memory("8191p"), Ok(8191 << 50));
    assert_eq!(parse_memory("8192p"), Err("invalid size: '8192p'".into()));
    for bad in [
        "", "abc", "m", "1.", ".5m", "1.2.3m", "-1m", "1mm", "1 m b", "1x", "1  m",
    ] {
        assert_eq!(
            parse_memory(bad),
            Err(format!("invalid size: '{bad}'")),
            "{bad}"
        );
    }
}

#[test]
fn cpus_in_billionths() {
    assert_eq!(parse_cpus("1.5"), Ok(1_500_000_000));
    assert_eq!(parse_cpus("2"), Ok(2_000_000_000));
    assert_eq!(parse_cpus(".25"), Ok(250_000_000));
    assert_eq!(parse_cpus("0.000000001"), Ok(1));
    assert_eq!(parse_cpus("1.5000000000000"), Ok(1_500_000_000));
    assert_eq!(
        parse_cpus("0.0000000001"),
        Err("value is too precise".into())
    );
    for bad in ["abc", ".", "-1", "1,5", "1.5.1", "1e3"] {
        assert_eq!(
            parse_cpus(bad),
            Err(format!("failed to parse {bad} as a rational number")),
            "{bad}"
        );
    }
}

#[test]
fn restart_policies() {
    assert_eq!(parse_restart(""), Ok(Restart::No));
    assert_eq!(parse_restart("no"), Ok(Restart::No));
    assert_eq!(parse_restart("always"), Ok(Restart::Always));
    assert_eq!(parse_restart("unless-stopped"), Ok(Restart::UnlessStopped));
    assert_eq!(parse_restart("on-failure"), Ok(Restart::OnFailure(None)));
    assert_eq!(
        parse_restart("on-failure:3"),
        Ok(Restart::OnFailure(Some(3)))
    );
    assert_eq!(
        parse_restart("always:3"),
        Err("maximum retry count cannot be used with restart policy 'always'".into())
    );
    assert_eq!(
        parse_restart("on-failure:x"),
        Err("maximum retry count must be an integer".into())
    );
    assert_eq!(
        parse_restart("on-failure:1:2"),
        Err("invalid restart policy format".into())
    );
    assert_eq!(
        parse_restart("sometimes"),
        Err("invalid restart policy 'sometimes'".into())
    );
}

fn full_form() -> Form {
    Form {
        image: " busybox:latest ".into(),
        name: "web-1".into(),
        command: r#"sh -c 'echo "it'"'"'s $HOME"; sleep 1000'"#.into(),
        env: "A=1\n\n  B=two words\r\nEMPTY=\nQ='quoted'\n".into(),
        mounts: "/srv/data:/data:ro\nnamed:/cache\ntmpfs /run:size=64m,mode=1777\ntmpfs /tmp\n"
            .into(),
        restart: "on-failure:3".into(),
        memory: "256m".into(),
        cpus: "1.5".into(),
        tty: true,
        interactive: true,
        auto_remove: false,
    }
}

#[test]
fn the_form_parses_into_what_the_daemon_gets() {
    let spec = spec(&full_form()).unwrap();
    assert_eq!(spec.image, "busybox:latest");
    assert_eq!(spec.name.as_deref(), Some("web-1"));
    assert_eq!(spec.cmd, ["sh", "-c", r#"echo "it's $HOME"; sleep 1000"#]);
    assert_eq!(spec.env, ["A=1", "B=two words", "EMPTY=", "Q='quoted'"]);
    assert_eq!(spec.binds, ["/srv/data:/data:ro", "named:/cache"]);
    assert_eq!(
        spec.tmpfs,
        [
            ("/run".to_owned(), "size=64m,mode=1777".to_owned()),
            ("/tmp".to_owned(), String::new())
        ]
    );
    assert_eq!(spec.restart, Restart::OnFailure(Some(3)));
    assert_eq!(spec.memory, Some(256 << 20));
    assert_eq!(spec.nano_cpus, Some(1_500_000_000));
    assert!(spec.tty && spec.interactive && !spec.auto_remove);
}

#[test]
fn each_bad_field_is_named() {
    let bad = |change: fn(&mut Form)| {
        let mut form = full_form();
        change(&mut form);
        spec(&form).unwrap_err()
    };
    assert_eq!(bad(|f| f.image = "  ".into()).field, "image");
    assert_eq!(bad(|f| f.command = "echo 'x".into()).field, "command");
    assert_eq!(
        bad(|f| f.env = "A=1\nNOVALUE".into()),
        field_error("env", "NOVALUE: KEY=VALUE expected")
    );
    assert_eq!(bad(|f| f.env = "=x".into()).field, "env");
    assert_eq!(
        bad(|f| f.mounts = "/a:data".into()).message,
        "invalid volume specification: '/a:data': the target must be an absolute path"
    );
    assert_eq!(bad(|f| f.mounts = "/a".into()).field, "mounts");
    assert_eq!(
        bad(|f| f.mounts = "/a:/b:rx".into()).message,
        "invalid mode: rx"
    );
    assert_eq!(bad(|f| f.mounts = "tmpfs run".into()).field, "mounts");
    assert_eq!(
        bad(|f| f.memory = "lots".into()),
        field_error("memory", "invalid size: 'lots'")
    );
    assert_eq!(bad(|f| f.cpus = "x".into()).field, "cpus");
    assert_eq!(bad(|f| f.restart = "sometimes".into()).field, "restart");
    assert_eq!(
        bad(|f| f.auto_remove = true).message,
        "Conflicting options: --restart and --rm"
    );
    // The least a form needs: an image.
    let minimal = spec(&Form {
        image: "busybox".into(),
        ..Form::default()
    })
    .unwrap();
    assert!(minimal.cmd.is_empty() && minimal.memory.is_none() && minimal.name.is_none());
    assert_eq!(minimal.restart, Restart::No);
}

#[test]
fn the_line_is_quoted_for_a_shell() {
    assert_eq!(
        line(&full_form()),
        r#"docker run -d --name web-1 -e A=1 -e 'B=two words' -e EMPTY= -e 'Q='"'"'quoted'"'"'' -v /srv/data:/data:ro -v named:/cache --tmpfs /run:size=64m,mode=1777 --tmpfs /tmp --restart on-failure:3 -m 256m --cpus 1.5 -it busybox:latest sh -c 'echo "it'"'"'s $HOME"; sleep 1000'"#
    );
    assert_eq!(
        line(&Form {
            image: "busybox".into(),
            auto_remove: true,
            restart: "no".into(),
            ..Form::default()
        }),
        "docker run -d --rm busybox"
    );
    // While a quote is still open, the line follows the words typed so far.
    assert_eq!(
        line(&Form {
            image: "busybox".into(),
            command: "echo 'hi".into(),
            ..Form::default()
        }),
        r#"docker run -d busybox echo ''"'"'hi'"#
    );
}

#[test]
fn the_line_parses_back_into_the_same_form() {
    let forms = [
        full_form(),
        Form {
            image: "busybox".into(),
            ..Form::default()
        },
        Form {
            image: "alpine:3".into(),
            command: "ls -la / '' \"a b\"".into(),
            auto_remove: true,
            tty: true,
            ..Form::default()
        },
        Form {
            image: "x".into(),
            interactive: true,
            restart: "unless-stopped".into(),
            memory: "1.5g".into(),
            env: "PATH=/bin:/usr/bin\nX=--rm".into(),
            command: "-- --name".into(),
            ..Form::default()
        },
    ];
    for form in forms {
        let text = line(&form);
        let back = form_from_line(&text).unwrap();
        assert_eq!(spec(&back), spec(&form), "{text}");
        assert_eq!(line(&back), text);
    }
}

#[test]
fn pasted_lines_fill_the_form() {
    let form = form_from_line(
        "docker container run --detach -dit --name=db -eA=1 --env B=2 -m=64m --memory 128m \
         --volume /a:/b --tmpfs=/t --cpus=2 --rm --restart=no postgres:16 postgres -c x=1",
    )
    .unwrap();
    assert_eq!(
        form,
        Form {
            image: "postgres:16".into(),
            name: "db".into(),
            command: "postgres -c x=1".into(),
            env: "A=1\nB=2".into(),
            mounts: "/a:/b\ntmpfs /t".into(),
            restart: "no".into(),
            memory: "128m".into(),
            cpus: "2".into(),
            tty: true,
            interactive: true,
            auto_remove: true,
        }
    );
    assert_eq!(
        form_from_line("docker run -p 80:80 nginx"),
        Err("the form has no field for -p".into())
    );
    assert_eq!(
        form_from_line("docker run --privileged nginx"),
        Err("the form has no field for --privileged".into())
    );
    assert_eq!(
        form_from_line("docker run --name"),
        Err("flag needs an argument: --name".into())
    );
    assert_eq!(
        form_from_line("podman run x"),
        Err("not a docker run line".into())
    );
}

#[test]
fn the_body_is_what_docker_run_d_sends() {
    assert_eq!(
        spec(&full_form()).unwrap().body(),
        serde_json::json!({
            "Image": "busybox:latest",
            "Cmd": ["sh", "-c", r#"echo "it's $HOME"; sleep 1000"#],
            "Env": ["A=1", "B=two words", "EMPTY=", "Q='quoted'"],
            "Tty": true, "OpenStdin": true,
            "AttachStdin": false, "AttachStdout": false, "AttachStderr": false, "StdinOnce": false,
            "HostConfig": {
                "Binds": ["/srv/data:/data:ro", "named:/cache"],
                "Tmpfs": {"/run": "size=64m,mode=1777", "/tmp": ""},
                "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
                "Memory": 268435456,
                "NanoCpus": 1500000000,
                "AutoRemove": false
            }
        })
    );
    let minimal = spec(&Form {
        image: "busybox".into(),
        auto_remove: true,
        ..Form::default()
    })
    .unwrap()
    .body();
    assert_eq!(
        minimal,
        serde_json::json!({
            "Image": "busybox", "Tty": false, "OpenStdin": false,
            "AttachStdin": false, "AttachStdout": false, "AttachStderr": false, "StdinOnce": false,
            "HostConfig": {"RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "AutoRemove": true}
        })
    );
}
