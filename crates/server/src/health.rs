//! Whether the server should get traffic: `/healthz` says the process answers, `/readyz` says
//! it listens, is not draining, and every registered check passes (a database, say), as a
//! Kubernetes readiness probe or a load balancer expects: 503 while draining, so the balancer
//! stops sending before the listeners close.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A readiness check: `Err(why)` while its part cannot serve.
pub type Check = Box<dyn Fn() -> Result<(), String> + Send + Sync>;

/// The server's readiness, shared by the runtime (listening, draining) and the admin service.
#[derive(Default)]
pub struct Health {
    listening: AtomicBool,
    draining: AtomicBool,
    checks: Mutex<Vec<(String, Check)>>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("listening", &self.listening.load(Ordering::Relaxed))
            .field("draining", &self.draining.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Health {
    /// A fresh state: not listening yet.
    pub fn new() -> Arc<Health> {
        Arc::new(Health::default())
    }

    /// The workers accept connections.
    pub fn set_listening(&self) {
        self.listening.store(true, Ordering::Release);
    }

    /// Whether the workers accept connections.
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    /// Shutdown (or a handover to a new binary) has begun.
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// Whether shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Adds a check named `name` that `/readyz` runs on every probe; keep it fast.
    pub fn register(&self, name: impl Into<String>, check: Check) {
        self.checks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name.into(), check));
    }

    /// `Ok` when ready; otherwise every reason it is not, one per line.
    pub fn ready(&self) -> Result<(), String> {
        let mut why = Vec::new();
        if !self.listening.load(Ordering::Acquire) {
            why.push("not listening yet".to_string());
        }
        if self.is_draining() {
            why.push("draining".to_string());
        }
        for (name, check) in self.checks.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            if let Err(e) = check() {
                why.push(format!("{name}: {e}"));
            }
        }
        if why.is_empty() {
            Ok(())
        } else {
            Err(why.join("\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_listening_not_draining_and_checks_pass() {
        let h = Health::new();
        assert!(h.ready().is_err());
        h.set_listening();
        assert_eq!(h.ready(), Ok(()));
        h.register("db", Box::new(|| Err("down".into())));
        assert_eq!(h.ready(), Err("db: down".into()));
        h.set_draining();
        assert!(h.ready().is_err_and(|e| e.contains("draining")));
    }
}
