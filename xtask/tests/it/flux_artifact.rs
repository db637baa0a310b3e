//! `cargo xtask flux push/pull/tag/list artifact(s)`: flux's log lines and output bytes, against the fake
//! ACR with `--provider azure` (the Entra ID → ACR token exchange) and with `--creds`.

use acr_oci::FakeAcr;
use azflux_core::fake::FakeCloud;
use secrecy::SecretString;
use xtask::flux_cli::Output;
use xtask::flux_cli::artifact::{ArtifactContext, run};

struct Env {
    _cloud: FakeCloud,
    acr: FakeAcr,
    ctx: ArtifactContext,
    dir: tempfile::TempDir,
}

async fn env() -> Env {
    let cloud = FakeCloud::start().await;
    let acr = FakeAcr::mount(&cloud).await;
    let ctx = ArtifactContext {
        http: cloud.http_options(),
        cloud: cloud.cloud(),
        credential: Some(cloud.credential().unwrap()),
    };
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("manifests");
    std::fs::create_dir_all(src.join("apps")).unwrap();
    std::fs::write(
        src.join("apps/ns.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n",
    )
    .unwrap();
    std::fs::write(src.join("README.png"), [1u8, 2, 3]).unwrap();
    Env {
        _cloud: cloud,
        acr,
        ctx,
        dir,
    }
}

async fn flux(env: &Env, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    run(&args, &env.ctx).await
}

fn digest_of(line: &str) -> String {
    line.rsplit('@').next().unwrap().trim().to_owned()
}

#[tokio::test]
async fn push_prints_flux_lines_and_pull_extracts_the_content() {
    let env = env().await;
    let src = env.dir.path().join("manifests");
    let out = flux(
        &env,
        &[
            "push",
            "artifact",
            "oci://myacr.azurecr.io/fleet/app:main-1a2b3c",
            "--path",
            src.to_str().unwrap(),
            "--source",
            "https://dev.azure.com/org/proj/_git/fleet",
            "--revision",
            "main@sha1:1a2b3c",
            "--provider",
            "azure",
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stderr);
    assert_eq!(
        lines[0],
        "► logging in to registry with provider credentials"
    );
    assert_eq!(
        lines[1],
        "► pushing artifact to myacr.azurecr.io/fleet/app:main-1a2b3c"
    );
    assert!(
        lines[2]
            .starts_with("✔ artifact successfully pushed to myacr.azurecr.io/fleet/app@sha256:"),
        "{}",
        lines[2]
    );
    let digest = digest_of(lines[2]);
    assert_eq!(digest.len(), 71);

    let dest = env.dir.path().join("pulled");
    std::fs::create_dir(&dest).unwrap();
    let out = flux(
        &env,
        &[
            "pull",
            "artifact",
            "oci://myacr.azurecr.io/fleet/app:main-1a2b3c",
            "--output",
            dest.to_str().unwrap(),
            "--provider=azure",
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "► logging in to registry with provider credentials\n► pulling artifact from myacr.azurecr.io/fleet/app:main-1a2b3c\n✔ source https://dev.azure.com/org/proj/_git/fleet\n✔ revision main@sha1:1a2b3c\n✔ digest myacr.azurecr.io/fleet/app@{digest}\n✔ artifact content extracted to {}\n",
            dest.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("apps/ns.yaml")).unwrap(),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n"
    );
    assert!(
        !dest.join("README.png").exists(),
        "flux's default ignore rules drop images"
    );

    // Tag, then list: flux's table.
    let out = flux(
        &env,
        &[
            "tag",
            "artifact",
            "oci://myacr.azurecr.io/fleet/app:main-1a2b3c",
            "--tag",
            "latest,stable",
            "--provider",
            "azure",
        ],
    )
    .await;
    assert_eq!(
        out.stderr,
        "► logging in to registry with provider credentials\n► tagging artifact\n✔ artifact tagged as myacr.azurecr.io/fleet/app:latest\n✔ artifact tagged as myacr.azurecr.io/fleet/app:stable\n"
    );
    let out = flux(
        &env,
        &[
            "list",
            "artifacts",
            "oci://myacr.azurecr.io/fleet/app",
            "--provider",
            "azure",
            "--filter-regex",
            "^(main|stable)",
        ],
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    let src_url = "https://dev.azure.com/org/proj/_git/fleet";
    let a1 = "myacr.azurecr.io/fleet/app:stable     ";
    let a2 = "myacr.azurecr.io/fleet/app:main-1a2b3c";
    assert_eq!(
        out.stdout,
        format!(
            "ARTIFACT{}\tDIGEST{}\tSOURCE{}\tREVISION         \n{a1}\t{digest}\t{src_url}\tmain@sha1:1a2b3c\t\n{a2}\t{digest}\t{src_url}\tmain@sha1:1a2b3c\t\n",
            " ".repeat(a2.len() - 8),
            " ".repeat(digest.len() - 6),
            " ".repeat(src_url.len() - 6),
        )
    );
}

#[tokio::test]
async fn push_output_json_and_yaml_are_flux_bytes() {
    let env = env().await;
    env.acr.add_basic_credential(
        "ci-token",
        SecretString::from("s3cret"),
        Some(vec!["fleet/app".into()]),
        &["pull", "push"],
    );
    let src = env.dir.path().join("manifests");
    let push = |output: &'static str| {
        let src = src.to_str().unwrap().to_owned();
        let env = &env;
        async move {
            flux(
                env,
                &[
                    "push",
                    "artifact",
                    "oci://myacr.azurecr.io/fleet/app:v1.0.0",
                    "-f",
                    &src,
                    "--source=https://dev.azure.com/org/proj/_git/fleet",
                    "--revision=v1.0.0@sha1:abc",
                    "--creds",
                    "ci-token:s3cret",
                    "--reproducible",
                    "-o",
                    output,
                ],
            )
            .await
        }
    };
    let json = push("json").await;
    assert_eq!(json.code, 0, "{json:?}");
    assert_eq!(json.stderr, "► logging in to registry with credentials\n");
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let digest = v["digest"].as_str().unwrap().to_owned();
    assert_eq!(
        json.stdout,
        format!(
            "{{\n  \"url\": \"oci://myacr.azurecr.io/fleet/app@{digest}\",\n  \"repository\": \"myacr.azurecr.io/fleet/app\",\n  \"tag\": \"v1.0.0\",\n  \"digest\": \"{digest}\"\n}}\n"
        )
    );
    // --reproducible: the same content gives the same digest.
    let yaml = push("yaml").await;
    assert_eq!(
        yaml.stdout,
        format!(
            "digest: {digest}\nrepository: myacr.azurecr.io/fleet/app\ntag: v1.0.0\nurl: oci://myacr.azurecr.io/fleet/app@{digest}\n"
        )
    );
}

#[tokio::test]
async fn bad_input_fails_with_flux_wording() {
    let env = env().await;
    let src = env.dir.path().join("manifests");
    let src = src.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["push", "artifact"], "artifact URL is required"),
        (
            &[
                "push",
                "artifact",
                "oci://r.azurecr.io/a:v1",
                "--revision",
                "x",
            ],
            "--source is required",
        ),
        (
            &[
                "push",
                "artifact",
                "oci://r.azurecr.io/a:v1",
                "--source",
                "s",
            ],
            "--revision is required",
        ),
        (
            &[
                "push",
                "artifact",
                "r.azurecr.io/a:v1",
                "-f",
                src,
                "--source",
                "s",
                "--revision",
                "r",
            ],
            "URL must be in format 'oci://<domain>/<org>/<repo>'",
        ),
        (
            &[
                "push",
                "artifact",
                "oci://r.azurecr.io/a:v1",
                "-f",
                "/nonexistent/x",
                "--source",
                "s",
                "--revision",
                "r",
            ],
            "invalid path '/nonexistent/x', must point to an existing directory or file: stat /nonexistent/x: no such file or directory",
        ),
        (
            &[
                "push",
                "artifact",
                "oci://r.azurecr.io/a:v1",
                "-f",
                src,
                "--source",
                "s",
                "--revision",
                "r",
                "-a",
                "novalue",
            ],
            "invalid annotation novalue, must be in the format key=value",
        ),
        (
            &["pull", "artifact", "oci://r.azurecr.io/a:v1"],
            "output path cannot be empty",
        ),
        (
            &[
                "pull",
                "artifact",
                "oci://r.azurecr.io/a:v1",
                "-o",
                src,
                "--provider",
                "ibm",
            ],
            "invalid argument \"ibm\" for \"--provider\" flag: source OCI provider 'ibm' is not supported, must be one of: generic, aws, azure, gcp",
        ),
        (
            &["tag", "artifact", "oci://r.azurecr.io/a:v1"],
            "--tag is required",
        ),
        (
            &["list", "artifacts"],
            "artifact repository URL is required",
        ),
    ];
    for (args, message) in cases {
        let out = flux(&env, args).await;
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert_eq!(out.stdout, "", "{args:?}");
        assert_eq!(out.stderr, format!("✗ {message}\n"), "{args:?}");
    }
    // A pull that the registry refuses names the role to check.
    env.acr.set_aad_actions(&[]);
    let out = flux(
        &env,
        &[
            "pull",
            "artifact",
            "oci://myacr.azurecr.io/a:v1",
            "-o",
            src,
            "--provider",
            "azure",
        ],
    )
    .await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("AcrPull"), "{}", out.stderr);
}
