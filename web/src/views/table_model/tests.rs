use super::*;

fn row(id: &str, name: &str, image: &str, state: &str, created: i64) -> Row {
    Row {
        id: id.to_owned(),
        name: name.to_owned(),
        image: image.to_owned(),
        state: state.to_owned(),
        status: String::new(),
        created,
        ports: String::new(),
        labels: Vec::new(),
    }
}

fn sample() -> Model {
    let mut m = Model::new();
    let mut web = row("aaa111", "web", "nginx:1", "running", 30);
    web.labels = vec![("tier".into(), "front".into()), ("team".into(), "a".into())];
    let mut db = row("bbb222", "DB", "postgres:16", "exited", 10);
    db.labels = vec![("tier".into(), "back".into())];
    m.replace_all(vec![
        web,
        db,
        row("ccc333", "cache", "redis", "paused", 20),
        row("ddd444", "batch", "busybox", "created", 40),
    ]);
    m.refresh();
    m
}

fn names(m: &Model) -> Vec<&str> {
    m.shown()
        .iter()
        .map(|id| m.row(id).unwrap().name.as_str())
        .collect()
}

#[test]
fn newest_first_then_sorted_by_the_clicked_column() {
    let mut m = sample();
    assert_eq!(names(&m), ["batch", "web", "cache", "DB"]);
    m.sort_by(SortKey::Name);
    m.refresh();
    assert_eq!(names(&m), ["batch", "cache", "DB", "web"]);
    m.sort_by(SortKey::Name);
    m.refresh();
    assert_eq!(names(&m), ["web", "DB", "cache", "batch"]);
    m.sort_by(SortKey::State);
    m.refresh();
    assert_eq!(names(&m), ["web", "cache", "batch", "DB"]);
    m.sort_by(SortKey::Image);
    m.refresh();
    assert_eq!(names(&m), ["batch", "web", "DB", "cache"]);
    m.sort_by(SortKey::Created);
    m.refresh();
    assert_eq!(
        m.sort(),
        Sort {
            key: SortKey::Created,
            descending: true
        }
    );
    assert_eq!(names(&m), ["batch", "web", "cache", "DB"]);
}

#[test]
fn filters_by_text_state_and_labels() {
    let mut m = sample();
    let mut by = |filter: Filter| {
        m.set_filter(filter);
        m.refresh();
        names(&m).join(",")
    };
    let text = |t: &str| Filter {
        text: t.into(),
        ..Filter::default()
    };
    assert_eq!(by(text("db")), "DB");
    assert_eq!(by(text("POSTGRES")), "DB");
    assert_eq!(by(text("ccc")), "cache");
    // An ID matches from its start only (a short ID), not in the middle.
    assert_eq!(by(text("333")), "");
    assert_eq!(by(text("  A ")), "batch,web,cache");
    let state = |s: &str| Filter {
        state: Some(s.into()),
        ..Filter::default()
    };
    assert_eq!(by(state("running")), "web");
    assert_eq!(by(state("exited")), "DB");
    let labels = |l: &str| Filter {
        labels: l.into(),
        ..Filter::default()
    };
    assert_eq!(by(labels("tier")), "web,DB");
    assert_eq!(by(labels("tier=back")), "DB");
    assert_eq!(by(labels("tier=front, team")), "web");
    assert_eq!(by(labels("tier=front team=b")), "");
    assert_eq!(
        by(Filter {
            text: "e".into(),
            state: Some("paused".into()),
            labels: String::new()
        }),
        "cache"
    );
    assert_eq!(by(Filter::default()), "batch,web,cache,DB");
}

#[test]
fn one_change_bumps_one_revision() {
    let mut m = sample();
    let before: Vec<u64> = ["aaa111", "bbb222"]
        .iter()
        .map(|id| m.row_revision(id).unwrap().1)
        .collect();
    let mut web = m.row("aaa111").unwrap().clone();
    assert!(!m.upsert(web.clone()), "the same row is no change");
    assert!(!m.refresh());
    web.state = "exited".into();
    assert!(m.upsert(web));
    assert!(m.refresh());
    assert_ne!(m.row_revision("aaa111").unwrap().1, before[0]);
    assert_eq!(m.row_revision("bbb222").unwrap().1, before[1]);
    // A reload keeps the revisions of unchanged rows.
    let rows: Vec<Row> = m
        .shown()
        .iter()
        .map(|id| m.row(id).unwrap().clone())
        .collect();
    let kept = m.row_revision("bbb222").unwrap().1;
    m.replace_all(rows);
    assert_eq!(m.row_revision("bbb222").unwrap().1, kept);
    // A new row shows in its place in the order.
    assert!(m.upsert(row("eee555", "new", "busybox", "running", 50)));
    m.refresh();
    assert_eq!(m.shown()[0], "eee555");
    assert!(m.remove("eee555"));
    assert!(!m.remove("eee555"));
    m.refresh();
    assert_eq!(m.total(), 4);
    assert!(!m.shown().contains(&"eee555".to_owned()));
}

#[test]
fn the_selection_follows_the_rows() {
    let mut m = sample();
    m.set_selected("aaa111", true);
    m.set_selected("nope", true);
    assert!(m.is_selected("aaa111"));
    assert!(!m.is_selected("nope"));
    m.set_filter(Filter {
        state: Some("exited".into()),
        ..Filter::default()
    });
    m.refresh();
    m.select_shown(true);
    assert!(m.all_shown_selected());
    // Selected but filtered out still counts, after the shown ones.
    let selected: Vec<&str> = m.selected().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(selected, ["DB", "web"]);
    m.remove("aaa111");
    assert_eq!(m.selected().len(), 1);
    m.replace_all(vec![row("ddd444", "batch", "busybox", "created", 40)]);
    assert!(m.selected().is_empty());
    m.select_shown(false);
    assert!(!m.all_shown_selected());
}

#[test]
fn events_batch_into_fetches_and_removals() {
    assert_eq!(event_effect("start"), Effect::Refresh);
    assert_eq!(event_effect("rename"), Effect::Refresh);
    assert_eq!(event_effect("health_status: healthy"), Effect::Refresh);
    assert_eq!(event_effect("exec_create: sh -c ls"), Effect::Ignore);
    assert_eq!(event_effect("attach"), Effect::Ignore);
    assert_eq!(event_effect("destroy"), Effect::Remove);
    let mut p = Pending::default();
    p.add("a", event_effect("create"));
    p.add("a", event_effect("start"));
    p.add("b", event_effect("start"));
    p.add("b", event_effect("destroy"));
    p.add("c", event_effect("destroy"));
    p.add("c", event_effect("create"));
    p.add("d", event_effect("resize"));
    assert!(!p.is_empty());
    assert_eq!(
        p.take(),
        (vec!["a".to_owned(), "c".to_owned()], vec!["b".to_owned()])
    );
    assert!(p.is_empty());
}

#[test]
fn failures_show() {
    let mut r = row("a", "a", "i", "exited", 0);
    r.status = "Exited (137) 2 minutes ago".into();
    assert!(r.failed());
    r.status = "Exited (0) 2 minutes ago".into();
    assert!(!r.failed());
    assert_eq!(exit_code("Up 3 seconds"), None);
}

#[test]
fn actions_by_state() {
    for action in Action::ALL {
        assert_eq!(Action::parse(action.as_str()), Some(action));
    }
    assert_eq!(Action::parse("explode"), None);
    assert_eq!(actions_for("running")[0], Action::Stop);
    assert_eq!(actions_for("exited"), [Action::Start, Action::Remove]);
    assert_eq!(actions_for("paused")[0], Action::Unpause);
    assert!(!actions_for("created").contains(&Action::Stop));
    assert!(remove_needs_force("paused") && !remove_needs_force("exited"));
}

#[test]
fn events_show_before_the_fetch() {
    let mut m = sample();
    let attrs = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let created = attrs(&[("image", "busybox"), ("name", "fresh"), ("tier", "front")]);
    assert!(m.apply_event("fff666", "create", &created, 99));
    m.refresh();
    assert_eq!(m.shown()[0], "fff666");
    let row = m.row("fff666").unwrap();
    assert_eq!(
        (row.name.as_str(), row.image.as_str(), row.state.as_str()),
        ("fresh", "busybox", "created")
    );
    assert_eq!(row.labels, [("tier".to_owned(), "front".to_owned())]);
    // An event of a container not in the table and not a create waits for the fetch.
    assert!(!m.apply_event("ggg777", "start", &attrs(&[]), 99));
    assert!(m.apply_event("fff666", "start", &attrs(&[]), 100));
    assert_eq!(m.row("fff666").unwrap().state, "running");
    assert!(m.apply_event("fff666", "die", &attrs(&[("exitCode", "137")]), 101));
    assert!(m.row("fff666").unwrap().failed());
    assert!(m.apply_event("fff666", "rename", &attrs(&[("name", "renamed")]), 102));
    assert_eq!(m.row("fff666").unwrap().name, "renamed");
    assert!(!m.apply_event("fff666", "exec_create: sh", &attrs(&[]), 103));
    // A create for a row the table has already (the fetch came first) changes nothing.
    assert!(!m.apply_event("aaa111", "create", &created, 99));
}

#[test]
fn a_row_is_read_from_the_lists_json() {
    let item = serde_json::json!({
        "Id": "abc123",
        "Names": ["/web"],
        "Image": "nginx:1",
        "State": "exited",
        "Status": "Exited (1) 2 minutes ago",
        "Created": 1_700_000_000,
        "Ports": [
            {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
            {"PrivatePort": 53, "Type": "udp"}
        ],
        "Labels": {"tier": "front", "app": "x"},
        "HostConfig": {"NetworkMode": "default"}
    });
    let row = Row::of(&item).unwrap();
    assert_eq!(row.id, "abc123");
    assert_eq!(row.name, "web");
    assert_eq!(row.image, "nginx:1");
    assert_eq!(row.state, "exited");
    assert!(row.failed());
    assert_eq!(row.created, 1_700_000_000);
    assert_eq!(row.ports, "0.0.0.0:8080->80/tcp, 53/udp");
    assert_eq!(
        row.labels,
        vec![("app".into(), "x".into()), ("tier".into(), "front".into())]
    );
    // Old daemons send null for absent lists; an item without an ID is no row.
    let sparse = serde_json::json!({"Id": "d", "Names": null, "Ports": null, "Labels": null});
    assert_eq!(Row::of(&sparse).unwrap().name, "");
    assert!(Row::of(&serde_json::json!({"Names": ["/x"]})).is_none());
}

#[test]
fn a_failed_fetch_is_put_back_behind_newer_changes() {
    let mut pending = Pending::default();
    pending.add("a", Effect::Refresh);
    pending.add("b", Effect::Refresh);
    let (refresh, _) = pending.take();
    assert_eq!(refresh, ["a", "b"]);
    // While the fetch failed, "b" was destroyed: its removal stands.
    pending.add("b", Effect::Remove);
    pending.requeue(&refresh);
    let (refresh, remove) = pending.take();
    assert_eq!(refresh, ["a"]);
    assert_eq!(remove, ["b"]);
}
