//! Container names: dockerd's validation, and generated `adjective_surname` names for containers created
//! without one.

use crate::error::Error;

/// Adjectives for generated names (a subset of moby's `names-generator` list).
const LEFT: [&str; 50] = [
    "admiring",
    "adoring",
    "affectionate",
    "agitated",
    "amazing",
    "angry",
    "awesome",
    "beautiful",
    "blissful",
    "bold",
    "boring",
    "brave",
    "busy",
    "charming",
    "clever",
    "compassionate",
    "competent",
    "condescending",
    "confident",
    "cool",
    "cranky",
    "crazy",
    "dazzling",
    "determined",
    "distracted",
    "dreamy",
    "eager",
    "ecstatic",
    "elastic",
    "elated",
    "elegant",
    "eloquent",
    "epic",
    "exciting",
    "fervent",
    "festive",
    "flamboyant",
    "focused",
    "friendly",
    "frosty",
    "funny",
    "gallant",
    "gifted",
    "goofy",
    "gracious",
    "great",
    "happy",
    "hardcore",
    "heuristic",
    "hopeful",
];

/// Scientists and hackers for generated names (a subset of moby's list).
const RIGHT: [&str; 50] = [
    "agnesi",
    "albattani",
    "allen",
    "archimedes",
    "babbage",
    "bardeen",
    "bell",
    "bhabha",
    "blackwell",
    "bohr",
    "booth",
    "borg",
    "brahmagupta",
    "carson",
    "cerf",
    "chandrasekhar",
    "curie",
    "darwin",
    "dijkstra",
    "einstein",
    "euclid",
    "fermat",
    "feynman",
    "franklin",
    "galileo",
    "gauss",
    "goldberg",
    "goodall",
    "hamilton",
    "hawking",
    "heisenberg",
    "hopper",
    "hypatia",
    "johnson",
    "kepler",
    "knuth",
    "lamport",
    "lovelace",
    "mccarthy",
    "meitner",
    "newton",
    "noether",
    "pascal",
    "ritchie",
    "shannon",
    "tesla",
    "thompson",
    "torvalds",
    "turing",
    "wozniak",
];

/// Validates a requested name and returns it with dockerd's leading `/`.
///
/// dockerd accepts `^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$` and answers 400 otherwise.
pub(crate) fn validate_name(name: &str) -> Result<String, Error> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let mut chars = bare.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest: Vec<char> = chars.collect();
    let rest_ok = !rest.is_empty()
        && rest
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok {
        Ok(format!("/{bare}"))
    } else {
        Err(Error::invalid(format!(
            "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )))
    }
}

/// A generated name with dockerd's leading `/`; `retry` > 0 appends a digit, as moby does after a
/// collision. `boring_wozniak` is never made (Steve Wozniak is not boring).
pub(crate) fn generate_name(retry: u32) -> String {
    loop {
        let left = LEFT[super::ids::random_below(LEFT.len())];
        let right = RIGHT[super::ids::random_below(RIGHT.len())];
        if left == "boring" && right == "wozniak" {
            continue;
        }
        return if retry > 0 {
            format!("/{left}_{right}{}", super::ids::random_below(10))
        } else {
            format!("/{left}_{right}")
        };
    }
}

/// The 409 dockerd answers when a name is taken.
pub(crate) fn name_conflict(name: &str, id: &str) -> Error {
    Error::new(
        wharf_client_core::ErrorKind::Conflict,
        format!(
            "Conflict. The container name \"{name}\" is already in use by container \"{id}\". \
             You have to remove (or rename) that container to be able to reuse that name."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_client_core::ErrorKind;

    #[test]
    fn valid_names_gain_a_slash() {
        assert_eq!(validate_name("web").unwrap(), "/web");
        assert_eq!(validate_name("/web-1.a_b").unwrap(), "/web-1.a_b");
    }

    #[test]
    fn invalid_names_are_400_with_dockerd_wording() {
        for bad in ["a", "_web", "-x", "we b", "web/1", "", "/", "ünï"] {
            let err = validate_name(bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidParameter, "{bad}");
            assert_eq!(
                err.message,
                format!(
                    "Invalid container name ({bad}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                )
            );
        }
    }

    #[test]
    fn generated_names_are_valid_and_retry_adds_a_digit() {
        for _ in 0..200 {
            let name = generate_name(0);
            assert_eq!(validate_name(&name).unwrap(), name);
            assert_ne!(name, "/boring_wozniak");
        }
        let name = generate_name(1);
        assert!(name.chars().last().unwrap().is_ascii_digit(), "{name}");
    }

    #[test]
    fn conflict_is_409_with_dockerd_wording() {
        let err = name_conflict("/web", "abc");
        assert_eq!(err.kind, ErrorKind::Conflict);
        assert_eq!(
            err.message,
            "Conflict. The container name \"/web\" is already in use by container \"abc\". You have to \
             remove (or rename) that container to be able to reuse that name."
        );
    }
}
