//! wit/deps must be exactly the WIT of the spin-sdk the components are built with, so the
//! test host binds the same interfaces the guests import (scripts/sync-wit refreshes it).

use std::path::{Path, PathBuf};

use voting_tests::repository_root;

fn spin_sdk_dir() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1"])
        .current_dir(repository_root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let sdk = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|package| package["name"] == "spin-sdk")
        .expect("the components depend on spin-sdk");
    assert_eq!(sdk["version"], "5.2.0", "DESIGN.md pins spin-sdk =5.2.0");
    Path::new(sdk["manifest_path"].as_str().unwrap())
        .parent()
        .unwrap()
        .to_path_buf()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn wit_deps_match_the_spin_sdk_the_components_use() {
    let ours = repository_root().join("wit/deps");
    let sdk = spin_sdk_dir().join("wit/deps");
    let files = files_under(&ours);
    assert!(
        files.len() > 10,
        "wit/deps is nearly empty: run scripts/sync-wit"
    );
    for file in files {
        let relative = file.strip_prefix(&ours).unwrap();
        let theirs = std::fs::read(sdk.join(relative)).unwrap_or_else(|_| {
            panic!(
                "{} is not in spin-sdk: run scripts/sync-wit",
                relative.display()
            )
        });
        assert!(
            std::fs::read(&file).unwrap() == theirs,
            "{} differs from spin-sdk: run scripts/sync-wit",
            relative.display()
        );
    }
}
