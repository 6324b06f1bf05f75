//! The `spin-test-host` binary's command line: what it refuses, in Spin's words where Spin has
//! them. (Building this test is also what makes cargo build the binary that other packages'
//! tests run as a stand-in for `spin`.)

use std::process::Command;

fn spin_test_host(arguments: &[&str], dir: &std::path::Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_spin-test-host"))
        .args(arguments)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn an_unknown_command_or_argument_prints_the_usage() {
    let dir = tempfile::tempdir().unwrap();
    for arguments in [&["deploy"][..], &["up", "--nope"], &[]] {
        let (succeeded, stderr) = spin_test_host(arguments, dir.path());
        assert!(!succeeded, "{arguments:?}");
        assert!(
            stderr.contains("usage: spin-test-host"),
            "{arguments:?}: {stderr}"
        );
    }
}

#[test]
fn up_refuses_a_component_the_manifest_does_not_have_as_spin_does() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("spin.toml"),
        "spin_manifest_version = 2\n[application]\nname = \"app\"\n\
         [[trigger.http]]\nroute = \"/\"\ncomponent = \"web\"\n\
         [component.web]\nsource = \"web.wasm\"\n",
    )
    .unwrap();
    let (succeeded, stderr) = spin_test_host(&["up", "-c", "nope"], dir.path());
    assert!(!succeeded);
    assert!(
        stderr.contains("Specified component \"nope\" not found in application"),
        "{stderr}"
    );
}
