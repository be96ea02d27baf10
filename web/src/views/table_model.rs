//! The containers table's model: every container the daemon listed, the order the user sorts them in,
//! the filters that pick which are shown, and the selection.
//!
//! The table is loaded once and then kept up to date from `/events`, one container at a time: so the
//! model is keyed by ID, and each change bumps that row's revision, which the view compares to decide
//! which of the rows on screen to rebuild (the others stay as they are, focus included). Sorting and
//! filtering 1000 rows takes well under a millisecond, so the shown order is simply recomputed once per
//! frame in which something changed; what costs is the DOM, and only the rows in view have any.
//!
//! Plain Rust (no web-sys): tested natively.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

/// One container, as the table shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    pub image: String,
    /// `running`, `paused`, `exited`, `created`, `restarting`, `removing`, `dead`.
    pub state: String,
    /// The daemon's words: `Up 5 minutes`, `Exited (0) 3 seconds ago`.
    pub status: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// Published ports, as `docker ps` writes them.
    pub ports: String,
    pub labels: Vec<(String, String)>,
}

impl Row {
    /// What the row of a container holds, from its item of `GET /containers/json` read as JSON: the
    /// table shows eight fields, and the typed `ContainerSummary`'s decoder (with its nested models) would
    /// weigh more in the wasm than all of this.
    pub fn of(c: &Value) -> Option<Row> {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let id = c["Id"].as_str()?.to_owned();
        let name = c["Names"][0]
            .as_str()
            .map(|n| n.trim_start_matches('/').to_owned())
            .unwrap_or_default();
        let ports = c["Ports"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|p| {
                let typ = p["Type"]
                    .as_str()
                    .filter(|t| !t.is_empty())
                    .unwrap_or("tcp");
                let private = p["PrivatePort"].as_u64().unwrap_or_default();
                match p["PublicPort"].as_u64() {
                    Some(public) => format!(
                        "{}:{public}->{private}/{typ}",
                        p["IP"].as_str().unwrap_or("0.0.0.0"),
                    ),
                    None => format!("{private}/{typ}"),
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let mut labels: Vec<(String, String)> = c["Labels"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), text(v))).collect())
            .unwrap_or_default();
        labels.sort();
        Some(Row {
            id,
            name,
            image: text(&c["Image"]),
            state: text(&c["State"]),
            status: text(&c["Status"]),
            created: c["Created"].as_i64().unwrap_or_default(),
            ports,
            labels,
        })
    }

    /// Whether its last exit was a failure (`Exited (1) ...`): the state's dot turns red.
    pub fn failed(&self) -> bool {
        self.state == "exited" && exit_code(&self.status).is_some_and(|code| code != 0)
    }
}

/// The exit code in a status such as `Exited (137) 2 minutes ago`.
pub fn exit_code(status: &str) -> Option<i64> {
    let rest = status.strip_prefix("Exited (")?;
    rest.split_once(')')?.0.parse().ok()
}

/// The columns one can sort by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Image,
    State,
    Created,
}

impl SortKey {
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Image => "image",
            SortKey::State => "state",
            SortKey::Created => "created",
        }
    }
}

/// A sort order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Default for Sort {
    /// Newest first, as `docker ps`.
    fn default() -> Self {
        Sort {
            key: SortKey::Created,
            descending: true,
        }
    }
}

/// What the user filters by.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Matched, case-insensitively, against the name and the image, and as a prefix of the ID.
    pub text: String,
    /// One state (`running`...), or every state.
    pub state: Option<String>,
    /// `key` or `key=value` terms, separated by spaces or commas; a row must carry all of them.
    pub labels: String,
}

impl Filter {
    /// Whether `row` passes. `text` and `labels` are as typed; [`Model::set_filter`] keeps a
    /// lowercase copy of the text.
    fn matches(&self, row: &Row, text_lower: &str) -> bool {
        if let Some(state) = &self.state {
            if &row.state != state {
                return false;
            }
        }
        let text_matches = text_lower.is_empty()
            || contains_lower(&row.name, text_lower)
            || contains_lower(&row.image, text_lower)
            || row.id.starts_with(text_lower);
        if !text_matches {
            return false;
        }
        label_terms(&self.labels).all(|(key, value)| {
            row.labels
                .iter()
                .any(|(k, v)| k == key && value.is_none_or(|value| v == value))
        })
    }
}

/// The `key` / `key=value` terms of a label filter.
fn label_terms(text: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .map(|t| match t.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (t, None),
        })
}

/// Whether `haystack` contains `needle_lower` (already lowercase), ignoring ASCII case. Names and
/// image references are ASCII; Unicode case tables would add kilobytes to the console for nothing.
fn contains_lower(haystack: &str, needle_lower: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle_lower.as_bytes());
    n.len() <= h.len()
        && h.windows(n.len())
            .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

/// The order of states when sorting by state: the live ones first.
fn state_rank(state: &str) -> u8 {
    match state {
        "running" => 0,
        "restarting" => 1,
        "paused" => 2,
        "created" => 3,
        "exited" => 4,
        "removing" => 5,
        "dead" => 6,
        _ => 7,
    }
}

/// The rows, the shown order and the selection.
#[derive(Debug, Default)]
pub struct Model {
    rows: HashMap<String, (Row, u64)>,
    shown: Vec<String>,
    sort: Sort,
    filter: Filter,
    filter_text_lower: String,
    selected: BTreeSet<String>,
    revision: u64,
    stale: bool,
}

impl Model {
    pub fn new() -> Model {
        Model::default()
    }

    /// Replaces every row (a full load, or a reload after the events stream broke).
    pub fn replace_all(&mut self, rows: Vec<Row>) {
        let mut old = std::mem::take(&mut self.rows);
        for row in rows {
            // An unchanged row keeps its revision, so the view does not rebuild it.
            let revision = match old.remove(&row.id) {
                Some((before, revision)) if before == row => revision,
                _ => self.next_revision(),
            };
            self.rows.insert(row.id.clone(), (row, revision));
        }
        let rows = &self.rows;
        self.selected.retain(|id| rows.contains_key(id));
        self.stale = true;
    }

    /// Adds or updates one row; false when nothing changed.
    pub fn upsert(&mut self, row: Row) -> bool {
        if self.rows.get(&row.id).is_some_and(|(r, _)| *r == row) {
            return false;
        }
        let revision = self.next_revision();
        self.rows.insert(row.id.clone(), (row, revision));
        self.stale = true;
        true
    }

    /// Removes the row of `id`; false when there was none.
    pub fn remove(&mut self, id: &str) -> bool {
        self.selected.remove(id);
        let removed = self.rows.remove(id).is_some();
        self.stale |= removed;
        removed
    }

    /// Shows what a container event says at once, before the container is fetched again: a created
    /// container gets a provisional row (its name, image and labels are in the event), a started,
    /// paused or dead one its new state. The fetch that follows brings the daemon's own words (its
    /// status line, ports). False when nothing changed.
    pub fn apply_event(
        &mut self,
        id: &str,
        action: &str,
        attributes: &BTreeMap<String, String>,
        time: i64,
    ) -> bool {
        let verb = action.split(':').next().unwrap_or(action).trim();
        let Some((row, _)) = self.rows.get(id) else {
            if verb != "create" || id.is_empty() {
                return false;
            }
            let labels = attributes
                .iter()
                .filter(|(k, _)| k.as_str() != "name" && k.as_str() != "image")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            return self.upsert(Row {
                id: id.to_owned(),
                name: attributes.get("name").cloned().unwrap_or_default(),
                image: attributes.get("image").cloned().unwrap_or_default(),
                state: "created".to_owned(),
                status: "Created".to_owned(),
                created: time,
                ports: String::new(),
                labels,
            });
        };
        let mut row = row.clone();
        match verb {
            "start" | "restart" | "unpause" => {
                row.state = "running".to_owned();
                row.status = "Up Less than a second".to_owned();
            }
            "pause" => {
                row.state = "paused".to_owned();
                row.status = format!("{} (Paused)", row.status);
            }
            "die" => {
                row.state = "exited".to_owned();
                let code = attributes.get("exitCode").map_or("0", String::as_str);
                row.status = format!("Exited ({code}) Less than a second ago");
            }
            "rename" => match attributes.get("name") {
                Some(name) => row.name = name.clone(),
                None => return false,
            },
            _ => return false,
        }
        self.upsert(row)
    }

    fn next_revision(&mut self) -> u64 {
        self.revision += 1;
        self.revision
    }

    pub fn sort(&self) -> Sort {
        self.sort
    }

    /// Sorts by `key`: ascending first (newest first for `created`), reversed when sorted by it already.
    pub fn sort_by(&mut self, key: SortKey) {
        self.sort = if self.sort.key == key {
            Sort {
                key,
                descending: !self.sort.descending,
            }
        } else {
            Sort {
                key,
                descending: key == SortKey::Created,
            }
        };
        self.stale = true;
    }

    pub fn set_filter(&mut self, filter: Filter) {
        self.filter_text_lower = filter.text.trim().to_ascii_lowercase();
        self.filter = filter;
        self.stale = true;
    }

    /// Recomputes the shown order if anything changed since; true when it did.
    pub fn refresh(&mut self) -> bool {
        if !self.stale {
            return false;
        }
        self.stale = false;
        let mut shown: Vec<&Row> = self
            .rows
            .values()
            .map(|(row, _)| row)
            .filter(|row| self.filter.matches(row, &self.filter_text_lower))
            .collect();
        let sort = self.sort;
        shown.sort_by(|a, b| {
            let order = match sort.key {
                SortKey::Name => cmp_ignore_case(&a.name, &b.name),
                SortKey::Image => cmp_ignore_case(&a.image, &b.image)
                    .then_with(|| cmp_ignore_case(&a.name, &b.name)),
                SortKey::State => state_rank(&a.state)
                    .cmp(&state_rank(&b.state))
                    .then_with(|| cmp_ignore_case(&a.name, &b.name)),
                SortKey::Created => a.created.cmp(&b.created),
            };
            let order = if sort.descending {
                order.reverse()
            } else {
                order
            };
            // Ties in a stable, total order, so that rows do not swap places on each refresh.
            order.then_with(|| a.id.cmp(&b.id))
        });
        self.shown = shown.into_iter().map(|row| row.id.clone()).collect();
        true
    }

    /// The IDs of the shown rows, in order (as of the last [`refresh`](Model::refresh)).
    pub fn shown(&self) -> &[String] {
        &self.shown
    }

    /// How many containers there are in all, shown or not.
    pub fn total(&self) -> usize {
        self.rows.len()
    }

    pub fn row(&self, id: &str) -> Option<&Row> {
        self.rows.get(id).map(|(row, _)| row)
    }

    /// The row of `id` and its revision, which changes whenever the row does.
    pub fn row_revision(&self, id: &str) -> Option<(&Row, u64)> {
        self.rows.get(id).map(|(row, revision)| (row, *revision))
    }

    pub fn is_selected(&self, id: &str) -> bool {
        self.selected.contains(id)
    }

    pub fn set_selected(&mut self, id: &str, on: bool) {
        if on && self.rows.contains_key(id) {
            self.selected.insert(id.to_owned());
        } else if !on {
            self.selected.remove(id);
        }
    }

    /// Selects every shown row, or clears the whole selection.
    pub fn select_shown(&mut self, on: bool) {
        if on {
            self.selected.extend(self.shown.iter().cloned());
        } else {
            self.selected.clear();
        }
    }

    /// The selected rows, in the shown order first, then any selected but filtered out.
    pub fn selected(&self) -> Vec<&Row> {
        let mut rows: Vec<&Row> = self
            .shown
            .iter()
            .filter(|id| self.selected.contains(*id))
            .filter_map(|id| self.row(id))
            .collect();
        let shown: BTreeSet<&str> = self.shown.iter().map(String::as_str).collect();
        rows.extend(
            self.selected
                .iter()
                .filter(|id| !shown.contains(id.as_str()))
                .filter_map(|id| self.row(id)),
        );
        rows
    }

    /// Whether every shown row is selected (and there is one).
    pub fn all_shown_selected(&self) -> bool {
        !self.shown.is_empty() && self.shown.iter().all(|id| self.selected.contains(id))
    }
}

fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// What an event of a container means for its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Nothing the table shows changed (an exec, an attach, a resize...).
    Ignore,
    /// Fetch the container again.
    Refresh,
    /// It is gone.
    Remove,
}

/// The effect of a container event's `Action` (`start`, `die`, `exec_create: sh -c ...`,
/// `health_status: healthy`).
pub fn event_effect(action: &str) -> Effect {
    let verb = action.split(':').next().unwrap_or(action).trim();
    match verb {
        "destroy" => Effect::Remove,
        "attach" | "detach" | "resize" | "top" | "export" | "archive-path" | "extract-to-dir"
        | "copy" | "commit" | "exec_create" | "exec_start" | "exec_die" | "exec_detach" => {
            Effect::Ignore
        }
        _ => Effect::Refresh,
    }
}

/// What changes a batch of events asks for: IDs to fetch again and IDs to drop, each once, in the order
/// the events came (a container destroyed after being changed in the same batch is only dropped, and one
/// created again under the same ID after a drop is fetched).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pending {
    order: Vec<(String, Effect)>,
}

impl Pending {
    pub fn add(&mut self, id: &str, effect: Effect) {
        if effect == Effect::Ignore || id.is_empty() {
            return;
        }
        self.order.retain(|(i, _)| i != id);
        self.order.push((id.to_owned(), effect));
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Puts back IDs whose fetch failed, unless a newer change of theirs is already waiting.
    pub fn requeue(&mut self, ids: &[String]) {
        for id in ids {
            if !self.order.iter().any(|(i, _)| i == id) {
                self.order.push((id.clone(), Effect::Refresh));
            }
        }
    }

    /// Takes the batch: the IDs to fetch again and those to remove.
    pub fn take(&mut self) -> (Vec<String>, Vec<String>) {
        let mut refresh = Vec::new();
        let mut remove = Vec::new();
        for (id, effect) in self.order.drain(..) {
            match effect {
                Effect::Refresh => refresh.push(id),
                Effect::Remove => remove.push(id),
                Effect::Ignore => {}
            }
        }
        (refresh, remove)
    }
}

/// What can be done to a container from the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    Restart,
    Kill,
    Pause,
    Unpause,
    Remove,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::Start,
        Action::Stop,
        Action::Restart,
        Action::Kill,
        Action::Pause,
        Action::Unpause,
        Action::Remove,
    ];

    /// Its name in `data-action` attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
            Action::Kill => "kill",
            Action::Pause => "pause",
            Action::Unpause => "unpause",
            Action::Remove => "remove",
        }
    }

    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// The button's text.
    pub fn label(self) -> &'static str {
        match self {
            Action::Start => "Start",
            Action::Stop => "Stop",
            Action::Restart => "Restart",
            Action::Kill => "Kill",
            Action::Pause => "Pause",
            Action::Unpause => "Unpause",
            Action::Remove => "Remove",
        }
    }

    /// How a failure's message begins: `Stopping web: ...`.
    pub fn doing(self) -> &'static str {
        match self {
            Action::Start => "Starting",
            Action::Stop => "Stopping",
            Action::Restart => "Restarting",
            Action::Kill => "Killing",
            Action::Pause => "Pausing",
            Action::Unpause => "Unpausing",
            Action::Remove => "Removing",
        }
    }
}

/// The actions that make sense for a container in `state`, the most likely first (the one shown when
/// there is room for only one).
pub fn actions_for(state: &str) -> &'static [Action] {
    match state {
        "running" => &[
            Action::Stop,
            Action::Restart,
            Action::Pause,
            Action::Kill,
            Action::Remove,
        ],
        "paused" => &[Action::Unpause, Action::Stop, Action::Kill, Action::Remove],
        "restarting" => &[Action::Stop, Action::Kill, Action::Remove],
        "removing" => &[],
        _ => &[Action::Start, Action::Remove],
    }
}

/// Whether removing a container in `state` needs `force` (it runs: it is killed first).
pub fn remove_needs_force(state: &str) -> bool {
    matches!(state, "running" | "paused" | "restarting")
}

#[cfg(test)]
mod tests;
