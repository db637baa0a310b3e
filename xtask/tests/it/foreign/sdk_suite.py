"""The official Python SDKs against the fake cloud, through the proxy (HTTPS_PROXY + REQUESTS_CA_BUNDLE in
the environment; nothing here knows it is a fake). Usage: sdk_suite.py SERVICE...; env AZ_TENANT, AZ_CLIENT,
AZ_SECRET, AZ_SUB, AZ_OID, AZ_PREFIX. Prints one JSON line per check: service, check, ok, error."""
import json
import os
import sys
import traceback
import uuid

from azure.identity import ClientSecretCredential

T, C, S, SUB = (os.environ[k] for k in ("AZ_TENANT", "AZ_CLIENT", "AZ_SECRET", "AZ_SUB"))
OID = os.environ.get("AZ_OID", "")
PREFIX = os.environ.get("AZ_PREFIX", "py")
# The list operations (and HEAD) of the ARM fakes; on with the `lists` argument.
LISTS = "lists" in sys.argv[1:]
LOC = "westeurope"
RG = f"{PREFIX}-rg"
cred = ClientSecretCredential(T, C, S)
failed = 0


def check(service, name, fn):
    global failed
    try:
        fn()
        print(json.dumps({"service": service, "check": name, "ok": True}), flush=True)
    except Exception as e:  # every failure is reported, then the next check runs
        failed += 1
        detail = f"{type(e).__name__}: {e}"[:1500]
        print(json.dumps({"service": service, "check": name, "ok": False, "error": detail,
                          "trace": traceback.format_exc()[-1500:]}), flush=True)


def eq(a, b, what):
    if a != b:
        raise AssertionError(f"{what}: {a!r} != {b!r}")


def resources():
    from azure.mgmt.resource.resources import ResourceManagementClient
    c = ResourceManagementClient(cred, SUB)
    check("resources", "create", lambda: eq(c.resource_groups.create_or_update(RG, {"location": LOC}).name, RG, "name"))
    check("resources", "get", lambda: eq(c.resource_groups.get(RG).location, LOC, "location"))


def resources_lists():
    from azure.mgmt.resource.resources import ResourceManagementClient
    c = ResourceManagementClient(cred, SUB)
    check("resources", "check_existence", lambda: eq(c.resource_groups.check_existence(RG), True, "exists"))
    check("resources", "list", lambda: eq(RG in [g.name for g in c.resource_groups.list()], True, "listed"))


def containerservice():
    from azure.mgmt.containerservice import ContainerServiceClient
    from azure.mgmt.containerservice import models as m
    c = ContainerServiceClient(cred, SUB)
    body = m.ManagedCluster(
        location=LOC, dns_prefix="my-cluster",
        identity=m.ManagedClusterIdentity(type="SystemAssigned"),
        agent_pool_profiles=[m.ManagedClusterAgentPoolProfile(name="nodepool1", count=1, vm_size="Standard_DS2_v2", mode="System", os_type="Linux")],
        network_profile=m.ContainerServiceNetworkProfile(network_plugin="azure", network_policy="calico"),
        oidc_issuer_profile=m.ManagedClusterOIDCIssuerProfile(enabled=True),
        security_profile=m.ManagedClusterSecurityProfile(workload_identity=m.ManagedClusterSecurityProfileWorkloadIdentity(enabled=True)),
    )
    state = {}

    def create():
        mc = c.managed_clusters.begin_create_or_update(RG, "my-cluster", body).result()
        eq(mc.provisioning_state, "Succeeded", "provisioningState")
        if not (mc.oidc_issuer_profile and mc.oidc_issuer_profile.issuer_url):
            raise AssertionError("no OIDC issuer URL")
        state["issuer"] = mc.oidc_issuer_profile.issuer_url
    check("containerservice", "create", create)
    check("containerservice", "get", lambda: eq(c.managed_clusters.get(RG, "my-cluster").network_profile.network_policy, "calico", "networkPolicy"))
    if LISTS:
        check("containerservice", "list_by_resource_group", lambda: eq([m.name for m in c.managed_clusters.list_by_resource_group(RG)], ["my-cluster"], "clusters"))
        check("containerservice", "list", lambda: eq("my-cluster" in [m.name for m in c.managed_clusters.list()], True, "listed"))

    def creds():
        r = c.managed_clusters.list_cluster_user_credentials(RG, "my-cluster")
        if b"server:" not in r.kubeconfigs[0].value:
            raise AssertionError("kubeconfig without a server")
    check("containerservice", "list_cluster_user_credentials", creds)
    if LISTS:
        check("containerservice", "agent_pools.list", lambda: eq([p.name for p in c.agent_pools.list(RG, "my-cluster")], ["nodepool1"], "pools"))
    check("containerservice", "agent_pools.upgrade_node_image_version",
          lambda: c.agent_pools.begin_upgrade_node_image_version(RG, "my-cluster", "nodepool1").result())
    check("containerservice", "delete", lambda: c.managed_clusters.begin_delete(RG, "my-cluster").result())
    return state


def msi():
    from azure.mgmt.msi import ManagedServiceIdentityClient
    from azure.mgmt.msi import models as m
    c = ManagedServiceIdentityClient(cred, SUB)

    def create():
        i = c.user_assigned_identities.create_or_update(RG, "flux", {"location": LOC})
        if not i.client_id or not i.principal_id:
            raise AssertionError("identity without client/principal id")
    check("msi", "identity.create", create)
    fic_model = m.FederatedIdentityCredential(issuer="https://oidc.example.test/issuer/",
                                              subject="system:serviceaccount:flux-system:source-controller",
                                              audiences=["api://AzureADTokenExchange"])
    check("msi", "identity.get", lambda: eq(c.user_assigned_identities.get(RG, "flux").name, "flux", "name"))
    check("msi", "federated_credential.create",
          lambda: eq(c.federated_identity_credentials.create_or_update(RG, "flux", "source-controller", fic_model).subject, fic_model.subject, "subject"))
    check("msi", "federated_credential.get",
          lambda: eq(c.federated_identity_credentials.get(RG, "flux", "source-controller").issuer, fic_model.issuer, "issuer"))


def containerregistry():
    from azure.mgmt.containerregistry import ContainerRegistryManagementClient
    c = ContainerRegistryManagementClient(cred, SUB)
    name = f"{PREFIX}acr{uuid.uuid4().hex[:8]}"

    def create():
        from azure.mgmt.containerregistry.models import Registry, Sku
        r = c.registries.begin_create(RG, name, Registry(location=LOC, sku=Sku(name="Basic"))).result()
        eq(r.login_server, f"{name}.azurecr.io", "loginServer")
    check("containerregistry", "create", create)
    check("containerregistry", "get", lambda: eq(c.registries.get(RG, name).sku.name, "Basic", "sku"))
    return name


def authorization(scope):
    from azure.mgmt.authorization import AuthorizationManagementClient
    c = AuthorizationManagementClient(cred, SUB)
    acr_pull = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
    if LISTS:
        check("authorization", "role_definitions.list(roleName eq 'AcrPull')",
              lambda: eq([d.name for d in c.role_definitions.list(scope, filter="roleName eq 'AcrPull'")], [acr_pull], "definitions"))
    from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
    role_id = f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{acr_pull}"
    check("authorization", "role_assignments.create", lambda: eq(c.role_assignments.create(scope, str(uuid.uuid4()), RoleAssignmentCreateParameters(
        role_definition_id=role_id, principal_id=OID, principal_type="ServicePrincipal")).principal_id, OID, "principalId"))


def keyvault():
    from azure.mgmt.keyvault import KeyVaultManagementClient
    c = KeyVaultManagementClient(cred, SUB)
    name = f"{PREFIX}kv{uuid.uuid4().hex[:8]}"

    def create():
        from azure.mgmt.keyvault.models import Sku, VaultCreateOrUpdateParameters, VaultProperties
        v = c.vaults.begin_create_or_update(RG, name, VaultCreateOrUpdateParameters(location=LOC, properties=VaultProperties(
            tenant_id=T, sku=Sku(family="A", name="standard"), enable_rbac_authorization=True))).result()
        eq(v.properties.vault_uri, f"https://{name}.vault.azure.net/", "vaultUri")
    check("keyvault", "vault.create", create)
    check("keyvault", "vault.get", lambda: eq(c.vaults.get(RG, name).name, name, "name"))
    return name


def keyvault_keys(vault):
    from azure.keyvault.keys import KeyClient
    from azure.keyvault.keys.crypto import CryptographyClient, EncryptionAlgorithm, KeyWrapAlgorithm
    url = f"https://{vault}.vault.azure.net/"
    kc = KeyClient(url, cred)
    state = {}

    def create():
        k = kc.create_rsa_key("sops", size=2048)
        eq(k.key_type, "RSA", "kty")
        state["key"] = k
    check("keyvault-keys", "create_rsa_key", create)
    check("keyvault-keys", "get_key", lambda: eq(kc.get_key("sops").id, state["key"].id, "kid"))
    for alg in (EncryptionAlgorithm.rsa_oaep_256, EncryptionAlgorithm.rsa_oaep):
        def roundtrip(alg=alg):
            cc = CryptographyClient(state["key"], cred)
            enc = cc.encrypt(alg, b"sops data key")
            eq(cc.decrypt(alg, enc.ciphertext).plaintext, b"sops data key", "plaintext")
        check("keyvault-keys", f"encrypt/decrypt {alg.value}", roundtrip)

    def wrap():
        cc = CryptographyClient(state["key"].id, cred)  # by id: every call goes to the service
        w = cc.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, b"k" * 32)
        eq(cc.unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, w.encrypted_key).key, b"k" * 32, "key")
    check("keyvault-keys", "wrap/unwrap RSA-OAEP-256", wrap)


def eventhub():
    from azure.mgmt.eventhub import EventHubManagementClient
    from azure.mgmt.eventhub import models as m
    c = EventHubManagementClient(cred, SUB)
    ns = f"{PREFIX}-ns-{uuid.uuid4().hex[:8]}"
    check("eventhub", "namespace.create",
          lambda: eq(c.namespaces.begin_create_or_update(RG, ns, m.EHNamespace(location=LOC, sku=m.Sku(name="Standard"))).result().name, ns, "name"))
    check("eventhub", "eventhub.create", lambda: eq(c.event_hubs.create_or_update(RG, ns, "flux", m.Eventhub()).name, "flux", "name"))
    check("eventhub", "authorization_rule.create",
          lambda: eq(c.event_hubs.create_or_update_authorization_rule(RG, ns, "flux", "flux-send", m.AuthorizationRule(rights=["Send"])).rights, ["Send"], "rights"))

    def keys():
        k = c.event_hubs.list_keys(RG, ns, "flux", "flux-send")
        if not k.primary_connection_string or "SharedAccessKey=" not in k.primary_connection_string:
            raise AssertionError("no connection string")
    check("eventhub", "authorization_rule.list_keys", keys)


def devops():
    from azure.devops.connection import Connection
    from msrest.authentication import BasicTokenAuthentication
    from azure.devops.v7_1.git.models import GitRepositoryCreateOptions, GitPush, GitRefUpdate, GitCommitRef, Change, ItemContent, GitItem
    # An Entra ID token for the Azure DevOps resource, as a service principal signs in to DevOps.
    token = cred.get_token("499b84ac-1321-427f-aa17-267ca6975798/.default").token
    conn = Connection(base_url="https://dev.azure.com/azflux-org", creds=BasicTokenAuthentication({"access_token": token}))
    git = conn.clients_v7_1.get_git_client()
    project = "fleet"
    name = f"{PREFIX}-repo-{uuid.uuid4().hex[:8]}"
    state = {}

    def create():
        r = git.create_repository(GitRepositoryCreateOptions(name=name), project)
        eq(r.name, name, "name")
        state["id"] = r.id
    check("devops", "repositories.create", create)
    check("devops", "repositories.list", lambda: eq(name in [r.name for r in git.get_repositories(project)], True, "listed"))

    def push():
        p = GitPush(ref_updates=[GitRefUpdate(name="refs/heads/main", old_object_id="0" * 40)],
                    commits=[GitCommitRef(comment="initial", changes=[Change(change_type="add", item=GitItem(path="/README.md"),
                                                                                 new_content=ItemContent(content="hello", content_type="rawtext"))])])
        out = git.create_push(p, state["id"], project)
        if not out.commits or not out.commits[0].commit_id:
            raise AssertionError("push without a commit")
        state["commit"] = out.commits[0].commit_id
    check("devops", "pushes.create", push)
    check("devops", "refs.list", lambda: eq([(r.name, r.object_id) for r in git.get_refs(state["id"], project, filter="heads/")],
                                            [("refs/heads/main", state.get("commit"))], "refs"))


for service in sys.argv[1:]:
    if service == "lists":
        continue
    if service == "resources":
        resources()
        if LISTS:
            resources_lists()
    elif service == "containerservice":
        containerservice()
    elif service == "msi":
        msi()
    elif service == "containerregistry":
        containerregistry()
    elif service == "authorization":
        authorization(f"/subscriptions/{SUB}/resourceGroups/{RG}")
    elif service == "keyvault":
        keyvault_keys(keyvault())
    elif service == "eventhub":
        eventhub()
    elif service == "devops":
        devops()
    else:
        raise SystemExit(f"unknown service {service}")
sys.exit(1 if failed else 0)
