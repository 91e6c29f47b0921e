//! What the machine was and how busy it was, recorded with the results: numbers from a loaded
//! machine mean less, and the reader should see that.

use std::fs;
use std::path::Path;
use std::process::Command;

/// The 1-, 5- and 15-minute load averages, or zeros when `/proc/loadavg` is unreadable.
pub fn load_average() -> [f64; 3] {
    let text = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    parse_load(&text).unwrap_or([0.0; 3])
}

fn parse_load(text: &str) -> Option<[f64; 3]> {
    let mut it = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// Cores this process may run on.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The kernel release.
pub fn kernel() -> String {
    fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// The CPU model name.
pub fn cpu() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The first line a program prints for `args` (stdout or stderr), e.g. its version.
pub fn version(program: &Path, args: &[&str]) -> String {
    match Command::new(program).args(args).output() {
        Ok(out) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            text.lines().next().unwrap_or("").trim().to_owned()
        }
        Err(_) => "not installed".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_loadavg() {
        assert_eq!(
            parse_load("0.52 1.10 2.00 3/456 789\n"),
            Some([0.52, 1.10, 2.0])
        );
        assert_eq!(parse_load("garbage"), None);
    }
}
