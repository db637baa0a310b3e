//! Conformance against the Azure REST fixtures (`azure/`): errors Azure really sent are classified into the
//! right semantic variant with the right code, and the fake Entra ID answers with the same shapes (field
//! names and JSON types) as the real token endpoints.

use super::SuiteReport;
use azflux_core::Error;
use azflux_core::error::classify;
use serde_json::Value;
use std::path::Path;

/// (fixture, expected variant, expected code)
const ERROR_CASES: &[(&str, &str, &str)] = &[
    (
        "azure/arm/observed/429-SubscriptionRequestsThrottled.json",
        "Throttled",
        "SubscriptionRequestsThrottled",
    ),
    (
        "azure/authorization/observed/409-RoleAssignmentExists.json",
        "Conflict",
        "RoleAssignmentExists",
    ),
    (
        "azure/keyvault/observed/401-challenge.json",
        "Unauthorized",
        "Unauthorized",
    ),
    (
        "azure/keyvault/observed/429-throttled.json",
        "Throttled",
        "Throttled",
    ),
    (
        "azure/acr/doc-derived/v2-catalog-401-challenge.json",
        "Unauthorized",
        "UNAUTHORIZED",
    ),
];

/// Entra ID error bodies (no status in the fixture): (fixture, status to classify with, expected code).
const ENTRA_ERRORS: &[(&str, u16, &str)] = &[
    (
        "azure/entra/doc-derived/v2-token.error.invalid_scope.json",
        400,
        "AADSTS70011",
    ),
    (
        "azure/entra/observed/v2-token.error.AADSTS70021.json",
        400,
        "AADSTS70021",
    ),
];

/// Runs the suite.
pub fn run(fixtures: &Path) -> anyhow::Result<SuiteReport> {
    let mut report = SuiteReport::new("azure");
    for (file, variant, code) in ERROR_CASES {
        report.record(
            format!("classify {file}"),
            check_error(fixtures, file, variant, code),
        );
    }
    for (file, status, code) in ENTRA_ERRORS {
        report.record(
            format!("classify {file}"),
            check_entra_error(fixtures, file, *status, code),
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(fake_entra_shapes(fixtures, &mut report));
    runtime.block_on(arm_examples(fixtures, &mut report));
    Ok(report)
}

/// Serves a real ARM example response (`responses.<status>.body` of an azure-rest-api-specs example) at
/// `path` on a fake cloud's ARM host, for a typed client to read.
async fn serve_example(
    cloud: &azflux_core::fake::FakeCloud,
    route: &str,
    path_regex: &str,
    body: Value,
) {
    let server = cloud.arm_server().await;
    let checks = cloud.clone();
    cloud
        .mount(&server, route, "GET", path_regex, move |r| {
            match checks.arm_call(r) {
                Ok(call) => call.respond(
                    azflux_core::fake::wiremock::ResponseTemplate::new(200)
                        .set_body_json(body.clone()),
                ),
                Err(e) => e,
            }
        })
        .await;
}

fn example_body(fixtures: &Path, file: &str, status: &str) -> Result<Value, String> {
    let example = read_json(fixtures, file)?;
    let body = example["responses"][status]["body"].clone();
    if body.is_null() {
        return Err(format!("{file} has no responses.{status}.body"));
    }
    Ok(body)
}

fn expect_eq(what: &str, ours: &str, azure: &str) -> Result<(), String> {
    if ours == azure {
        Ok(())
    } else {
        Err(format!("{what}: read '{ours}', Azure sent '{azure}'"))
    }
}

/// Real ARM example responses for the resources the bootstrap ensures, read by the crates' typed clients
/// (`Registries_Get` by acr-oci, `Vaults_CreateOrUpdate`'s Vault by keyvault-sops).
async fn arm_examples(fixtures: &Path, report: &mut SuiteReport) {
    let cloud = azflux_core::fake::FakeCloud::start().await;
    let arm = match cloud.credential() {
        Ok(credential) => azflux_core::arm::ArmClient::new(
            &cloud.cloud(),
            credential,
            azflux_core::arm::ArmClientOptions {
                http: cloud.http_options(),
                ..Default::default()
            },
        ),
        Err(e) => {
            report.record("ARM examples", Err(e.to_string()));
            return;
        }
    };

    let file = "azure/acr/RegistryGet.2025-11-01.json";
    let outcome = async {
        let body = example_body(fixtures, file, "200")?;
        let id = azflux_core::arm::ResourceId::parse(body["id"].as_str().unwrap_or_default())
            .map_err(|e| e.to_string())?;
        serve_example(
            &cloud,
            "conformance.registry.get",
            r"(?i)/providers/Microsoft\.ContainerRegistry/registries/[^/]+$",
            body.clone(),
        )
        .await;
        let registries = acr_oci::RegistryManagement::new(arm.clone());
        let registry = registries
            .get_registry(
                id.subscription_id(),
                id.resource_group_name().unwrap_or_default(),
                id.name(),
            )
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the registry was reported missing")?;
        let props = &body["properties"];
        expect_eq(
            "name",
            &registry.name,
            body["name"].as_str().unwrap_or_default(),
        )?;
        expect_eq(
            "location",
            &registry.location,
            body["location"].as_str().unwrap_or_default(),
        )?;
        // Docker reference hosts are lower case; the example spells the login server as created.
        expect_eq(
            "loginServer (lower case)",
            &registry.login_server,
            &props["loginServer"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase(),
        )?;
        expect_eq(
            "sku",
            &registry.sku,
            body["sku"]["name"].as_str().unwrap_or_default(),
        )?;
        expect_eq(
            "provisioningState",
            registry.provisioning_state.as_deref().unwrap_or_default(),
            props["provisioningState"].as_str().unwrap_or_default(),
        )?;
        if Some(registry.admin_user_enabled) != props["adminUserEnabled"].as_bool() {
            return Err("adminUserEnabled read wrong".to_owned());
        }
        Ok(())
    }
    .await;
    report.record(format!("acr-oci reads {file}"), outcome);

    let file = "azure/keyvault/createVault.2025-05-01.json";
    let outcome = async {
        let body = example_body(fixtures, file, "200")?;
        let id = azflux_core::arm::ResourceId::parse(body["id"].as_str().unwrap_or_default())
            .map_err(|e| e.to_string())?;
        serve_example(
            &cloud,
            "conformance.vault.get",
            r"(?i)/providers/Microsoft\.KeyVault/vaults/[^/]+$",
            body.clone(),
        )
        .await;
        let vaults = keyvault_sops::VaultManagement::new(arm.clone());
        let vault = vaults
            .get_vault(
                id.subscription_id(),
                id.resource_group_name().unwrap_or_default(),
                id.name(),
            )
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the vault was reported missing")?;
        let props = &body["properties"];
        expect_eq(
            "name",
            &vault.name,
            body["name"].as_str().unwrap_or_default(),
        )?;
        expect_eq(
            "vaultUri",
            &vault.vault_uri,
            props["vaultUri"].as_str().unwrap_or_default(),
        )?;
        expect_eq(
            "tenantId",
            &vault.tenant_id,
            props["tenantId"].as_str().unwrap_or_default(),
        )?;
        if vault.rbac_authorization != props["enableRbacAuthorization"].as_bool().unwrap_or(false) {
            return Err("enableRbacAuthorization read wrong".to_owned());
        }
        Ok(())
    }
    .await;
    report.record(format!("keyvault-sops reads {file}"), outcome);
}

fn read_json(fixtures: &Path, file: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(fixtures.join(file))
        .map_err(|e| format!("cannot read {file}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{file} is not JSON: {e}"))
}

fn variant_name(e: &Error) -> &'static str {
    match e {
        Error::NotFound(_) => "NotFound",
        Error::Conflict(_) => "Conflict",
        Error::Throttled(_) => "Throttled",
        Error::Unauthorized(_) => "Unauthorized",
        Error::Forbidden(_) => "Forbidden",
        Error::BadRequest(_) => "BadRequest",
        Error::Service(_) => "Service",
        _ => "other",
    }
}

fn check_error(fixtures: &Path, file: &str, variant: &str, code: &str) -> Result<(), String> {
    let fixture = read_json(fixtures, file)?;
    let status = fixture["status"].as_u64().ok_or("no status")? as u16;
    let body = serde_json::to_vec(&fixture["body"]).map_err(|e| e.to_string())?;
    let headers = fixture["headers"].clone();
    let header = |name: &str| {
        headers.as_object().and_then(|h| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_str().map(str::to_owned))
        })
    };
    let error = classify(status, "conformance", &header, &body);
    if variant_name(&error) != variant || error.code() != Some(code) {
        return Err(format!(
            "expected {variant} {code}, got {} {:?}",
            variant_name(&error),
            error.code()
        ));
    }
    Ok(())
}

fn check_entra_error(fixtures: &Path, file: &str, status: u16, code: &str) -> Result<(), String> {
    let body = serde_json::to_vec(&read_json(fixtures, file)?).map_err(|e| e.to_string())?;
    let error = classify(status, "token endpoint", &|_| None, &body);
    let shown = error.to_string();
    if error.code() != Some(code) {
        return Err(format!("expected {code}, got {:?}", error.code()));
    }
    if shown.contains("Trace ID") {
        return Err("the message carries the trace-id lines".into());
    }
    Ok(())
}

/// Field name → JSON type name, for shape comparisons.
fn shape(v: &Value) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = v
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let t = match v {
                        Value::String(_) => "string",
                        Value::Number(_) => "number",
                        Value::Array(_) => "array",
                        Value::Object(_) => "object",
                        Value::Bool(_) => "bool",
                        Value::Null => "null",
                    };
                    (k.clone(), t)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// The real shape's fields must all be present with the same JSON type in the fake's answer.
fn same_shape(real: &Value, fake: &Value) -> Result<(), String> {
    let fake_shape = shape(fake);
    for (field, kind) in shape(real) {
        match fake_shape.iter().find(|(f, _)| *f == field) {
            Some((_, k)) if *k == kind => {}
            Some((_, k)) => {
                return Err(format!(
                    "field {field}: the fake sends a {k}, Azure a {kind}"
                ));
            }
            None => return Err(format!("field {field} missing from the fake's answer")),
        }
    }
    Ok(())
}

async fn fake_entra_shapes(fixtures: &Path, report: &mut SuiteReport) {
    let cloud = azflux_core::fake::FakeCloud::start().await;
    let base = format!("http://{}", cloud.entra_address());
    let http = reqwest::Client::new();
    let sandbox = cloud.sandbox().clone();
    let token_url = format!("{base}/{}/oauth2/v2.0/token", sandbox.tenant_id);
    let form = |scope: &str| {
        vec![
            ("grant_type".to_owned(), "client_credentials".to_owned()),
            ("client_id".to_owned(), sandbox.client_id.clone()),
            (
                "client_secret".to_owned(),
                secrecy::ExposeSecret::expose_secret(&sandbox.client_secret).to_owned(),
            ),
            ("scope".to_owned(), scope.to_owned()),
        ]
    };
    let post = |scope: &'static str| {
        let http = http.clone();
        let url = token_url.clone();
        let body = form(scope);
        async move {
            let response = http
                .post(url)
                .form(&body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            response.json::<Value>().await.map_err(|e| e.to_string())
        }
    };
    for (file, scope) in [
        (
            "azure/entra/doc-derived/v2-token.client_credentials.success.json",
            "https://management.azure.com/.default",
        ),
        (
            "azure/entra/observed/v2-token.client_credentials.success.with_ext_expires_in.json",
            "https://management.azure.com/.default",
        ),
        (
            "azure/entra/doc-derived/v2-token.error.invalid_scope.json",
            "https://management.azure.com/user_impersonation",
        ),
    ] {
        let outcome = async {
            let real = read_json(fixtures, file)?;
            let fake = post(scope).await?;
            same_shape(&real, &fake)
        }
        .await;
        report.record(format!("fake Entra ID answers like {file}"), outcome);
    }
    cloud
        .entra()
        .add_managed_identity(azflux_core::fake::entra::ManagedIdentity {
            client_id: "c".into(),
            object_id: "o".into(),
            tenant: sandbox.tenant_id.clone(),
        });
    let file = "azure/entra/doc-derived/imds-token.success.json";
    let outcome = async {
        let real = read_json(fixtures, file)?;
        let fake: Value = http
            .get(format!("{base}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F"))
            .header("Metadata", "true")
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        same_shape(&real, &fake)
    }
    .await;
    report.record(format!("fake IMDS answers like {file}"), outcome);
}
