//! Prints every pacer CRD as multi-document YAML, or with `--dir DIR` writes one file per
//! kind (`DIR/<plural>.yaml`), which is how deploy/crds/ is produced.

use std::{env, fs, path::PathBuf, process::ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.as_slice() {
        [] => pacer_crds::all_crds_yaml()
            .map(|y| print!("{y}"))
            .map_err(|e| e.to_string()),
        [flag, dir] if flag == "--dir" => write_dir(&PathBuf::from(dir)),
        _ => Err("usage: crdgen [--dir DIR]".to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crdgen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write_dir(dir: &PathBuf) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for crd in pacer_crds::all_crds() {
        let path = dir.join(format!("{}.yaml", crd.spec.names.plural));
        let yaml = pacer_crds::crd_yaml(&crd).map_err(|e| e.to_string())?;
        fs::write(&path, yaml).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
