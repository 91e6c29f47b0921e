//! What a listing's query string asks for, parsed without touching the disk:
//! `?sort=name|size|modified&order=asc|desc`. Whether it asks for JSON is
//! [`semantics::negotiate::wants_json`], shared with the site.

/// The column to sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// By name, ignoring ASCII case.
    Name,
    /// By size.
    Size,
    /// By modification time.
    Modified,
}

/// How to order a listing: `?sort=name|size|modified&order=asc|desc`. Directories always come
/// first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// The column.
    pub key: SortKey,
    /// Descending instead of ascending.
    pub descending: bool,
}

impl Sort {
    /// The order a query asks for; unknown values fall back to name, ascending.
    pub fn from_query(query: Option<&str>) -> Sort {
        let mut sort = Sort {
            key: SortKey::Name,
            descending: false,
        };
        for (k, v) in pairs(query) {
            match (k, v) {
                ("sort", "name") => sort.key = SortKey::Name,
                ("sort", "size") => sort.key = SortKey::Size,
                ("sort", "modified") => sort.key = SortKey::Modified,
                ("order", "desc") => sort.descending = true,
                ("order", "asc") => sort.descending = false,
                _ => {}
            }
        }
        sort
    }

    /// The value of `sort=` that asks for this column.
    pub(crate) fn param(self) -> &'static str {
        match self.key {
            SortKey::Name => "name",
            SortKey::Size => "size",
            SortKey::Modified => "modified",
        }
    }
}

/// `key=value` pairs of a query string (values are not decoded: the ones we read are plain).
fn pairs(query: Option<&str>) -> impl Iterator<Item = (&str, &str)> {
    query
        .unwrap_or("")
        .split('&')
        .filter_map(|p| p.split_once('=').or(Some((p, ""))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sort(q: &str) -> (SortKey, bool) {
        let s = Sort::from_query(Some(q));
        (s.key, s.descending)
    }

    #[test]
    fn sort_from_query() {
        assert_eq!(
            Sort::from_query(None),
            Sort {
                key: SortKey::Name,
                descending: false
            }
        );
        assert_eq!(sort("sort=size&order=desc"), (SortKey::Size, true));
        assert_eq!(sort("order=desc&sort=modified"), (SortKey::Modified, true));
        assert_eq!(sort("sort=size&sort=name"), (SortKey::Name, false));
        assert_eq!(sort("sort=bogus&order=sideways"), (SortKey::Name, false));
        assert_eq!(sort("sort&order"), (SortKey::Name, false));
        assert_eq!(sort("format=json&sort=size"), (SortKey::Size, false));
    }
}
