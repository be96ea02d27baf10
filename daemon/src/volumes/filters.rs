//! The filters of `GET /volumes` (`name`, `label`, `dangling`, `driver`) and `POST /volumes/prune`
//! (`label`, `label!`, and `all` from API 1.42), matched as dockerd matches them: values of one filter
//! are alternatives, different filters must all match.

use std::collections::BTreeMap;

use wharf_client_core::Filters;

use crate::error::Error;

/// The filters `GET /volumes` accepts.
pub(crate) const LIST_FILTERS: &[&str] = &["name", "label", "dangling", "driver"];

/// The filters `POST /volumes/prune` accepts before API 1.42.
pub(crate) const PRUNE_FILTERS: &[&str] = &["label", "label!"];

/// The filters `POST /volumes/prune` accepts from API 1.42.
pub(crate) const PRUNE_FILTERS_1_42: &[&str] = &["label", "label!", "all"];

/// What a filter sees of a volume.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Candidate<'a> {
    pub name: &'a str,
    pub driver: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    /// No container refers to it.
    pub dangling: bool,
}

/// `label=key` or `label=key=value`.
pub(crate) fn has_label(labels: &BTreeMap<String, String>, filter: &str) -> bool {
    match filter.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(filter),
    }
}

/// A boolean filter value as dockerd reads `dangling`: `true`/`1` or `false`/`0`.
fn bool_value(filter: &str, value: &str) -> Result<bool, Error> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(Error::invalid(format!("Invalid filter '{filter}={value}'"))),
    }
}

/// A checked `GET /volumes` filter.
#[derive(Clone, Debug, Default)]
pub(crate) struct ListFilter {
    names: Vec<String>,
    drivers: Vec<String>,
    labels: Vec<String>,
    dangling: Option<bool>,
}

impl ListFilter {
    /// Reads `filters` (already checked against [`LIST_FILTERS`]).
    pub(crate) fn new(filters: &Filters) -> Result<Self, Error> {
        let mut dangling = None;
        for value in filters.get("dangling") {
            dangling = Some(bool_value("dangling", value)?);
        }
        Ok(Self {
            names: filters.get("name").to_vec(),
            drivers: filters.get("driver").to_vec(),
            labels: filters.get("label").to_vec(),
            dangling,
        })
    }

    /// Whether `v` passes: `name` and `driver` match a part of the value (dockerd matches them as
    /// unanchored patterns), every `label` is there, `dangling` as asked.
    pub(crate) fn matches(&self, v: &Candidate<'_>) -> bool {
        (self.names.is_empty() || self.names.iter().any(|n| v.name.contains(n.as_str())))
            && (self.drivers.is_empty()
                || self.drivers.iter().any(|d| v.driver.contains(d.as_str())))
            && self.labels.iter().all(|l| has_label(v.labels, l))
            && self.dangling.is_none_or(|d| d == v.dangling)
    }
}

/// A checked `POST /volumes/prune` filter.
#[derive(Clone, Debug, Default)]
pub(crate) struct PruneFilter {
    labels: Vec<String>,
    not_labels: Vec<String>,
    /// Named volumes too (API 1.42's `all=true`, and every API before 1.42).
    pub all: bool,
}

impl PruneFilter {
    /// Reads `filters`; `api_1_42` when the request's API version is 1.42 or later, where only
    /// anonymous volumes go unless `all` is true (before, named ones went too, as with dockerd 20.10).
    pub(crate) fn new(filters: &Filters, api_1_42: bool) -> Result<Self, Error> {
        let mut all = !api_1_42;
        for value in filters.get("all") {
            all = bool_value("all", value)?;
        }
        Ok(Self {
            labels: filters.get("label").to_vec(),
            not_labels: filters.get("label!").to_vec(),
            all,
        })
    }

    /// Whether an unused volume with `labels` goes.
    pub(crate) fn matches(&self, labels: &BTreeMap<String, String>, anonymous: bool) -> bool {
        (self.all || anonymous)
            && self.labels.iter().all(|l| has_label(labels, l))
            && !self.not_labels.iter().any(|l| has_label(labels, l))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(pairs: &[(&str, &str)]) -> Filters {
        let mut f = Filters::new();
        for (k, v) in pairs {
            f.add(k, *v);
        }
        f
    }

    #[test]
    fn list_filters_match_as_dockerd() {
        let labels = BTreeMap::from([("env".to_string(), "prod".to_string())]);
        let v = Candidate {
            name: "data-1",
            driver: "local",
            labels: &labels,
            dangling: true,
        };
        let yes = |pairs: &[(&str, &str)]| ListFilter::new(&filters(pairs)).unwrap().matches(&v);
        assert!(yes(&[]));
        assert!(yes(&[("name", "data")]));
        assert!(yes(&[("name", "nope"), ("name", "-1")]));
        assert!(!yes(&[("name", "nope")]));
        assert!(yes(&[("label", "env")]));
        assert!(yes(&[("label", "env=prod")]));
        assert!(!yes(&[("label", "env=dev")]));
        assert!(!yes(&[("label", "env"), ("label", "other")]));
        assert!(yes(&[("dangling", "true")]));
        assert!(yes(&[("dangling", "1")]));
        assert!(!yes(&[("dangling", "false")]));
        assert!(yes(&[("driver", "local")]));
        assert!(!yes(&[("driver", "nfs")]));
        assert_eq!(
            ListFilter::new(&filters(&[("dangling", "maybe")]))
                .unwrap_err()
                .message,
            "Invalid filter 'dangling=maybe'"
        );
    }

    #[test]
    fn prune_takes_named_volumes_before_api_1_42_and_with_all() {
        let labels = BTreeMap::from([("keep".to_string(), "1".to_string())]);
        let none = BTreeMap::new();
        let old = PruneFilter::new(&Filters::new(), false).unwrap();
        assert!(old.matches(&none, false) && old.matches(&none, true));
        let new = PruneFilter::new(&Filters::new(), true).unwrap();
        assert!(!new.matches(&none, false) && new.matches(&none, true));
        let all = PruneFilter::new(&filters(&[("all", "true")]), true).unwrap();
        assert!(all.matches(&none, false));
        let keep = PruneFilter::new(&filters(&[("label!", "keep")]), false).unwrap();
        assert!(!keep.matches(&labels, true) && keep.matches(&none, true));
        let only = PruneFilter::new(&filters(&[("label", "keep=1")]), false).unwrap();
        assert!(only.matches(&labels, false) && !only.matches(&none, false));
    }
}
