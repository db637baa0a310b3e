//! `flux install --export`.

/// Runs `install …` (args after `install`).
pub fn run(_args: &[String]) -> Result<String, String> {
    Err("install is not available yet".into())
}
