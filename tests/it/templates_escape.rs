//! Pages rendered from templates escape what they did not write: a file or directory named
//! like markup shows as text in the listing, in its rows, title and heading.

use crate::harness::{Running, get};

#[test]
fn listing_escapes_script_in_names_rows_title_and_heading() {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("<script>alert(1)");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::write(dir.join("<script>alert(2)<script>.txt"), "x").expect("write");
    let root_str = root.path().to_str().expect("utf-8 temp path");
    let s = Running::start(&["serve", root_str, "-p", "0", "-q"]);

    let top = get(s.addr, "/");
    assert_eq!(top.status, 200);
    let page = top.text();
    assert!(page.contains("&lt;script&gt;alert(1)/</a>"), "{page}");
    assert!(!page.contains("<script>"), "{page}");

    let inner = get(s.addr, "/%3Cscript%3Ealert%281%29/");
    assert_eq!(inner.status, 200, "{}", inner.text());
    let page = inner.text();
    assert!(
        page.contains("<title>Index of /&lt;script&gt;alert(1)/</title>"),
        "{page}"
    );
    assert!(
        page.contains("<span>&lt;script&gt;alert(1)/</span></h1>"),
        "{page}"
    );
    assert!(
        page.contains(
            "href=\"%3Cscript%3Ealert%282%29%3Cscript%3E.txt\">&lt;script&gt;alert(2)&lt;script&gt;.txt</a>"
        ),
        "{page}"
    );
    assert!(!page.contains("<script>"), "{page}");
}
