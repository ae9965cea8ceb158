//! Tables of ixcp configs that tests write by hand.

/// A `[[nic]]` tap table named `name` with its kernel side in namespace
/// `netns`, followed by the `extra` lines verbatim.
pub fn tap_nic(name: &str, netns: &str, extra: &str) -> String {
    format!("[[nic]]\nkind = \"tap\"\nname = \"{name}\"\nnetns = \"{netns}\"\n{extra}\n")
}

/// An `[[instance]]` table: `name` running `app` with `args` (the contents of
/// its TOML array) on core 1, on `nic` at `addr`, serving `port`.
pub fn instance(name: &str, app: &str, args: &str, nic: &str, addr: &str, port: u16) -> String {
    format!(
        "[[instance]]\nname = \"{name}\"\napp = \"{app}\"\nargs = [{args}]\ncores = [1]\n\
         nic = \"{nic}\"\naddr = \"{addr}\"\nports = [{port}]\n"
    )
}
