"""What the custom resources in deploy/k8s may say, written down from their API references
(no cluster and no CRD schema here): for each kind the fields this project may use, their
types, enums and required keys. Unknown fields fail, as the API server's structural
schema would prune or refuse them. Each schema names the reference version it follows.

- Gateway API v1.2, standard channel (gateway.networking.k8s.io/v1): Gateway, HTTPRoute.
- CloudNativePG 1.27 API reference (postgresql.cnpg.io/v1): Cluster, ScheduledBackup.
- Barman Cloud plugin 0.6 for CloudNativePG (barmancloud.cnpg.io/v1): ObjectStore.
- Prometheus Operator v0.8x API (monitoring.coreos.com/v1): ServiceMonitor, PodMonitor.
"""

from __future__ import annotations

from typing import Any

import jsonschema

Schema = dict[str, Any]


def obj(properties: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    """An object with exactly these fields allowed."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def array(items: Schema, **bounds: int) -> Schema:
    return {"type": "array", "items": items, **bounds}


STRING: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}
STRING_MAP: Schema = {"type": "object", "additionalProperties": STRING}
ANY_OBJECT: Schema = {"type": "object"}  # a Kubernetes core type, validated by its own rules
# Gateway API's Duration (GEP-2257).
DURATION: Schema = {"type": "string", "pattern": r"^([0-9]{1,5}(h|m|s|ms)){1,4}$"}
# Kubernetes label selectors.
SELECTOR = obj({"matchLabels": STRING_MAP, "matchExpressions": array(ANY_OBJECT)})
METADATA: Schema = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": STRING, "namespace": STRING, "labels": STRING_MAP},
}
SECRET_KEY = obj({"name": STRING, "key": STRING}, ("name", "key"))


def resource(api_version: str, kind: str, spec: Schema) -> Schema:
    return obj(
        {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": METADATA,
            "spec": spec,
        },
        ("apiVersion", "kind", "metadata", "spec"),
    )


# --- Gateway API v1.2 (standard channel) -------------------------------------------------

PARENT_REF = obj(
    {
        "group": STRING,
        "kind": STRING,
        "namespace": STRING,
        "name": STRING,
        "sectionName": STRING,
        "port": INT,
    },
    ("name",),
)
BACKEND_REF = obj(
    {
        "group": STRING,
        "kind": STRING,
        "namespace": STRING,
        "name": STRING,
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "weight": INT,
        "filters": array(ANY_OBJECT),
    },
    ("name",),
)
HTTP_ROUTE_MATCH = obj(
    {
        "path": obj(
            {"type": {"enum": ["Exact", "PathPrefix", "RegularExpression"]}, "value": STRING}
        ),
        "headers": array(ANY_OBJECT),
        "queryParams": array(ANY_OBJECT),
        "method": STRING,
    }
)
HTTP_ROUTE_FILTER = obj(
    {
        "type": {
            "enum": [
                "RequestHeaderModifier",
                "ResponseHeaderModifier",
                "RequestMirror",
                "RequestRedirect",
                "URLRewrite",
                "ExtensionRef",
            ]
        },
        "requestRedirect": obj(
            {
                "scheme": {"enum": ["http", "https"]},
                "hostname": STRING,
                "path": ANY_OBJECT,
                "port": INT,
                "statusCode": {"enum": [301, 302]},
            }
        ),
        "requestHeaderModifier": ANY_OBJECT,
        "responseHeaderModifier": ANY_OBJECT,
        "requestMirror": ANY_OBJECT,
        "urlRewrite": ANY_OBJECT,
        "extensionRef": ANY_OBJECT,
    },
    ("type",),
)
HTTP_ROUTE = resource(
    "gateway.networking.k8s.io/v1",
    "HTTPRoute",
    obj(
        {
            "parentRefs": array(PARENT_REF, maxItems=32),
            "hostnames": array(STRING, maxItems=16),
            "rules": array(
                obj(
                    {
                        "matches": array(HTTP_ROUTE_MATCH, maxItems=64),
                        "filters": array(HTTP_ROUTE_FILTER, maxItems=16),
                        "backendRefs": array(BACKEND_REF, maxItems=16),
                        "timeouts": obj({"request": DURATION, "backendRequest": DURATION}),
                    }
                ),
                maxItems=16,
            ),
        }
    ),
)
GATEWAY = resource(
    "gateway.networking.k8s.io/v1",
    "Gateway",
    obj(
        {
            "gatewayClassName": STRING,
            "listeners": array(
                obj(
                    {
                        "name": STRING,
                        "hostname": STRING,
                        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                        "protocol": STRING,
                        "tls": obj(
                            {
                                "mode": {"enum": ["Terminate", "Passthrough"]},
                                "certificateRefs": array(
                                    obj(
                                        {
                                            "group": STRING,
                                            "kind": STRING,
                                            "name": STRING,
                                            "namespace": STRING,
                                        },
                                        ("name",),
                                    )
                                ),
                                "options": STRING_MAP,
                            }
                        ),
                        "allowedRoutes": obj(
                            {
                                "namespaces": obj(
                                    {
                                        "from": {"enum": ["All", "Selector", "Same", "None"]},
                                        "selector": SELECTOR,
                                    }
                                ),
                                "kinds": array(ANY_OBJECT),
                            }
                        ),
                    },
                    ("name", "port", "protocol"),
                ),
                minItems=1,
                maxItems=64,
            ),
            "addresses": array(ANY_OBJECT),
            "infrastructure": ANY_OBJECT,
        },
        ("gatewayClassName", "listeners"),
    ),
)

# --- CloudNativePG 1.27 --------------------------------------------------------------------

PLUGIN = obj(
    {"name": STRING, "enabled": BOOL, "isWALArchiver": BOOL, "parameters": STRING_MAP},
    ("name",),
)
CLUSTER = resource(
    "postgresql.cnpg.io/v1",
    "Cluster",
    obj(
        {
            "description": STRING,
            "instances": {"type": "integer", "minimum": 1},
            "imageName": STRING,
            "primaryUpdateStrategy": {"enum": ["unsupervised", "supervised"]},
            "primaryUpdateMethod": {"enum": ["switchover", "restart"]},
            "bootstrap": obj(
                {
                    "initdb": obj({"database": STRING, "owner": STRING, "secret": ANY_OBJECT}),
                    "recovery": ANY_OBJECT,
                }
            ),
            "postgresql": obj(
                {
                    "parameters": STRING_MAP,
                    "synchronous": obj(
                        {
                            "method": {"enum": ["any", "first"]},
                            "number": {"type": "integer", "minimum": 1},
                            "dataDurability": {"enum": ["required", "preferred"]},
                        },
                        ("method", "number"),
                    ),
                }
            ),
            "storage": obj({"size": STRING, "storageClass": STRING}),
            "walStorage": obj({"size": STRING, "storageClass": STRING}),
            "resources": ANY_OBJECT,
            "affinity": obj(
                {
                    "enablePodAntiAffinity": BOOL,
                    "topologyKey": STRING,
                    "podAntiAffinityType": {"enum": ["preferred", "required"]},
                    "nodeSelector": STRING_MAP,
                    "tolerations": array(ANY_OBJECT),
                }
            ),
            "topologySpreadConstraints": array(ANY_OBJECT),
            "plugins": array(PLUGIN),
            "enableSuperuserAccess": BOOL,
            "inheritedMetadata": ANY_OBJECT,
        },
        ("instances",),
    ),
)
SCHEDULED_BACKUP = resource(
    "postgresql.cnpg.io/v1",
    "ScheduledBackup",
    obj(
        {
            # Six fields, seconds first (robfig/cron), unlike a CronJob's five.
            "schedule": {"type": "string", "pattern": r"^\S+( \S+){5}$"},
            "cluster": obj({"name": STRING}, ("name",)),
            "method": {"enum": ["barmanObjectStore", "volumeSnapshot", "plugin"]},
            "pluginConfiguration": obj({"name": STRING, "parameters": STRING_MAP}, ("name",)),
            "target": {"enum": ["primary", "prefer-standby"]},
            "backupOwnerReference": {"enum": ["none", "self", "cluster"]},
            "immediate": BOOL,
            "suspend": BOOL,
            "online": BOOL,
        },
        ("cluster", "schedule"),
    ),
)

# --- Barman Cloud plugin 0.6 ----------------------------------------------------------------

COMPRESSION = {"enum": ["bzip2", "gzip", "lz4", "snappy", "xz", "zstd"]}
OBJECT_STORE = resource(
    "barmancloud.cnpg.io/v1",
    "ObjectStore",
    obj(
        {
            "retentionPolicy": {"type": "string", "pattern": r"^[1-9][0-9]*[dwm]$"},
            "configuration": obj(
                {
                    "destinationPath": {"type": "string", "minLength": 1},
                    "endpointURL": STRING,
                    "s3Credentials": obj(
                        {
                            "accessKeyId": SECRET_KEY,
                            "secretAccessKey": SECRET_KEY,
                            "region": SECRET_KEY,
                            "sessionToken": SECRET_KEY,
                            "inheritFromIAMRole": BOOL,
                        }
                    ),
                    "wal": obj({"compression": COMPRESSION, "maxParallel": INT}),
                    "data": obj(
                        {"compression": {"enum": ["bzip2", "gzip", "snappy"]}, "jobs": INT}
                    ),
                },
                ("destinationPath",),
            ),
            "instanceSidecarConfiguration": ANY_OBJECT,
        },
        ("configuration",),
    ),
)

# --- Prometheus Operator -------------------------------------------------------------------

ENDPOINT = obj({"port": STRING, "path": STRING, "interval": DURATION, "scheme": STRING})
SERVICE_MONITOR = resource(
    "monitoring.coreos.com/v1",
    "ServiceMonitor",
    obj({"selector": SELECTOR, "endpoints": array(ENDPOINT)}, ("selector",)),
)
POD_MONITOR = resource(
    "monitoring.coreos.com/v1",
    "PodMonitor",
    obj({"selector": SELECTOR, "podMetricsEndpoints": array(ENDPOINT)}, ("selector",)),
)

SCHEMAS = {
    ("gateway.networking.k8s.io/v1", "Gateway"): GATEWAY,
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): HTTP_ROUTE,
    ("postgresql.cnpg.io/v1", "Cluster"): CLUSTER,
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): SCHEDULED_BACKUP,
    ("barmancloud.cnpg.io/v1", "ObjectStore"): OBJECT_STORE,
    ("monitoring.coreos.com/v1", "ServiceMonitor"): SERVICE_MONITOR,
    ("monitoring.coreos.com/v1", "PodMonitor"): POD_MONITOR,
}


def check(manifest: dict[str, Any]) -> None:
    """Raises jsonschema.ValidationError when the resource says what its API does not."""
    schema = SCHEMAS[(manifest["apiVersion"], manifest["kind"])]
    jsonschema.validate(manifest, schema)
