//! CGI under a mounted prefix: a script's `SCRIPT_NAME` is the URL path that names it, prefix
//! included, and `PATH_INFO` the rest, as Apache's `ScriptAlias` and nginx with fcgiwrap give
//! them; for a `cgi` route and for the scripts of a `files` route alike.

use std::process::Command;

use crate::config_run::{start, tree};
use crate::harness::get;

const MOUNTED: &str = r#"
[[listen]]
addr = "127.0.0.1:0"

[[site]]
  [[site.route]]
  path = "/app/"
  cgi = { root = "cgi-bin" }

  [[site.route]]
  path = "/site/"
  files = { root = "www", cgi = {} }

  [[site.route]]
  path = "/"
  files = { root = "www", cgi = {} }
"#;

/// The script of [`tree`], and a copy under `www/cgi-bin/` that prints more of its
/// environment and one that redirects locally.
fn scripts(dir: &std::path::Path) {
    let env = "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\n\
               echo \"script=$SCRIPT_NAME info=$PATH_INFO uri=$REQUEST_URI query=$QUERY_STRING\"\n";
    let back = "#!/bin/sh\nprintf 'Location: /site/a.txt\\r\\n\\r\\n'\n";
    std::fs::create_dir_all(dir.join("www/cgi-bin")).unwrap();
    for (name, text) in [("env.sh", env), ("back.sh", back)] {
        let path = dir.join("www/cgi-bin").join(name);
        std::fs::write(&path, text).unwrap();
        Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    }
}

#[test]
fn script_name_carries_the_route_prefix_and_path_info_the_rest() {
    let d = tree(MOUNTED);
    scripts(d.path());
    let s = start(d.path());
    // A `cgi` route mounted at /app/.
    let r = get(s.addr, "/app/env.sh/x/y?q=1");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "script=/app/env.sh info=/x/y\n");
    // The scripts of a `files` route mounted at /site/: the prefix is kept for them.
    let r = get(s.addr, "/site/cgi-bin/env.sh/more?a=b");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text(),
        "script=/site/cgi-bin/env.sh info=/more uri=/site/cgi-bin/env.sh/more?a=b query=a=b\n"
    );
    // The same files at `/`: no prefix to carry.
    let r = get(s.addr, "/cgi-bin/env.sh");
    assert_eq!(
        r.text(),
        "script=/cgi-bin/env.sh info= uri=/cgi-bin/env.sh query=\n"
    );
    // Files of the mounted route are still served with the prefix taken off.
    let r = get(s.addr, "/site/a.txt");
    assert_eq!((r.status, r.text().as_str()), (200, "hello from www\n"));
    // A local redirect (RFC 3875 6.2.2) to a file of the mounted route.
    let r = get(s.addr, "/site/cgi-bin/back.sh");
    assert_eq!((r.status, r.text().as_str()), (200, "hello from www\n"));
    // A path that only looks like a script directory once the prefix is off is a file path.
    let r = get(s.addr, "/site/site/cgi-bin/env.sh");
    assert_eq!(r.status, 404);
}
