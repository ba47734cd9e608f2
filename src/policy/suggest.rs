//! "Did you mean": the known name closest to a mistyped one, by edit distance.

/// Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Rows i-2, i-1 and i of the optimal-string-alignment table.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a.get(i - 1) != b.get(j - 1));
            let mut best = (prev[j] + 1).min(row[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a.get(i - 1) == b.get(j - 2) && a.get(i - 2) == b.get(j - 1) {
                best = best.min(before[j - 2] + 1);
            }
            row[j] = best;
        }
        before = std::mem::replace(&mut prev, row);
    }
    prev.get(b.len()).copied().unwrap_or(usize::MAX)
}

/// The candidate closest to `word`, when it is close enough to be a typo of it: at most one
/// edit in three characters (and at least one edit allowed).
pub fn closest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (distance(word, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// `(did you mean "x"?)` with a leading space, or nothing.
pub fn hint<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> String {
    closest(word, candidates).map(|c| format!(" (did you mean {c:?}?)")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_the_name_meant() {
        assert_eq!(distance("storge", "storage"), 1);
        assert_eq!(distance("organisations", "organizations"), 1);
        assert_eq!(distance("raed", "read"), 1);
        assert_eq!(closest("storge", ["storage", "secrets", "branches"]), Some("storage"));
        assert_eq!(closest("organisations", ["organizations", "projects"]), Some("organizations"));
        assert_eq!(closest("banana", ["storage", "secrets"]), None);
        assert_eq!(hint("lst_projects", ["list_projects"]), " (did you mean \"list_projects\"?)");
    }
}
