"""Drives the official Azure SDK for Python against azflux's fake cloud (aks-cluster's FakeAks behind the
HTTPS front door): creates a managed cluster (long-running operation), a user-assigned identity and a
federated identity credential bound to the cluster's OIDC issuer, then reads them back.

Environment: AZFLUX_ENDPOINT (https://localhost:PORT), AZFLUX_TENANT_ID, AZFLUX_CLIENT_ID,
AZFLUX_CLIENT_SECRET, AZFLUX_SUBSCRIPTION_ID, AZFLUX_CA_FILE. Prints one JSON line with what it read back.
"""

import json
import os
import sys
import urllib.parse

from azure.core.pipeline.transport import RequestsTransport
from azure.identity import ClientSecretCredential
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice import models as aks
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.msi import models as msi_models

endpoint = os.environ["AZFLUX_ENDPOINT"]
ca_file = os.environ["AZFLUX_CA_FILE"]
subscription = os.environ["AZFLUX_SUBSCRIPTION_ID"]
scopes = ["https://management.azure.com/.default"]
group = "rg-python"



class FrontDoorTransport(RequestsTransport):
    """Keeps the front door's port on token requests: the fake Entra ID's openid-configuration names its
    token endpoint by host only (https://localhost/...), so MSAL would post to port 443."""

    def send(self, request, **kwargs):
        url = urllib.parse.urlsplit(request.url)
        front = urllib.parse.urlsplit(endpoint)
        if url.hostname == front.hostname and url.port is None:
            request.url = urllib.parse.urlunsplit(url._replace(netloc=front.netloc))
        return super().send(request, **kwargs)


credential = ClientSecretCredential(
    os.environ["AZFLUX_TENANT_ID"],
    os.environ["AZFLUX_CLIENT_ID"],
    os.environ["AZFLUX_CLIENT_SECRET"],
    authority=endpoint,
    disable_instance_discovery=True,
    transport=FrontDoorTransport(connection_verify=ca_file),
)

clusters = ContainerServiceClient(
    credential, subscription, base_url=endpoint, credential_scopes=scopes, connection_verify=ca_file
)
cluster = aks.ManagedCluster(
    location="westeurope",
    identity=aks.ManagedClusterIdentity(type="SystemAssigned"),
    sku=aks.ManagedClusterSKU(name="Base", tier="Free"),
    dns_prefix="pyflux",
    agent_pool_profiles=[
        aks.ManagedClusterAgentPoolProfile(
            name="system", mode="System", count=1, vm_size="Standard_D4s_v5", os_type="Linux"
        )
    ],
    network_profile=aks.ContainerServiceNetworkProfile(network_plugin="azure", network_policy="calico"),
    oidc_issuer_profile=aks.ManagedClusterOIDCIssuerProfile(enabled=True),
    security_profile=aks.ManagedClusterSecurityProfile(
        workload_identity=aks.ManagedClusterSecurityProfileWorkloadIdentity(enabled=True)
    ),
    tags={"created-by": "azure-mgmt-containerservice"},
)
poller = clusters.managed_clusters.begin_create_or_update(group, "pyflux", cluster)
created = poller.result()
if created.provisioning_state != "Succeeded":
    sys.exit(f"create ended {created.provisioning_state}")
issuer = created.oidc_issuer_profile.issuer_url
read = clusters.managed_clusters.get(group, "pyflux")
if read.oidc_issuer_profile.issuer_url != issuer:
    sys.exit("the issuer changed between create and get")
credentials = clusters.managed_clusters.list_cluster_user_credentials(group, "pyflux")
kubeconfig = bytes(credentials.kubeconfigs[0].value).decode()

identities = ManagedServiceIdentityClient(
    credential, subscription, base_url=endpoint, credential_scopes=scopes, connection_verify=ca_file
)
identity = identities.user_assigned_identities.create_or_update(
    group, "py-flux", msi_models.Identity(location="westeurope", tags={"created-by": "azure-mgmt-msi"})
)
fic = identities.federated_identity_credentials.create_or_update(
    group,
    "py-flux",
    "source-controller",
    msi_models.FederatedIdentityCredential(
        issuer=issuer,
        subject="system:serviceaccount:flux-system:source-controller",
        audiences=["api://AzureADTokenExchange"],
    ),
)
identity_read = identities.user_assigned_identities.get(group, "py-flux")
fics = list(identities.federated_identity_credentials.list(group, "py-flux"))

print(
    json.dumps(
        {
            "cluster_id": read.id,
            "provisioning_state": read.provisioning_state,
            "issuer": issuer,
            "fqdn": read.fqdn,
            "kubelet_object_id": read.identity_profile["kubeletidentity"].object_id,
            "kubeconfig_has_server": f"server: https://{read.fqdn}:443" in kubeconfig,
            "identity_client_id": identity_read.client_id,
            "identity_principal_id": identity_read.principal_id,
            "fic_issuer": fic.issuer,
            "fic_names": [f.name for f in fics],
        }
    )
)
