"""moto_server, answering one request at a time.

moto's backends are not thread-safe: two CreateStack calls handled at once (cloudgrant creates the
VPC and S3 stacks in parallel, as AWS allows) can corrupt its EC2 state (a subnet "conflicting"
with itself). AWS has no such limit, so the product keeps its parallel requests; the double
serialises them. Same app and request handler as `moto_server`, with threaded=False.

Two answers of moto 5.2.5 are corrected so the double answers as AWS documents:
- A KMS key made by CloudFormation keeps its `KeyPolicy` as a parsed object, and every later
  DescribeKey on it fails with a 500 (moto's policy check calls json.loads on it). AWS stores the
  policy as the JSON document it is; so does this double.
- A deleted stack, described by its id (AWS keeps it readable for 90 days), makes moto create its
  deleted resources again (its resource map is lazy), so the next stack of the same names fails
  with EntityAlreadyExists. AWS answers with the records: each resource DELETE_COMPLETE, or
  DELETE_SKIPPED where `DeletionPolicy: Retain` kept it, and no outputs; so does this double.
"""
import json
import sys

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler


def _kms_policy_as_text() -> None:
    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = cloudformation_json.get("Properties", {})
        if isinstance(props.get("KeyPolicy"), dict):
            props = dict(props, KeyPolicy=json.dumps(props["KeyPolicy"]))
            cloudformation_json = dict(cloudformation_json, Properties=props)
        return original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    Key.create_from_cloudformation_json = classmethod(create)


def _deleted_stacks_as_records() -> None:
    from types import SimpleNamespace

    from moto.cloudformation import responses
    from moto.cloudformation.models import Stack

    original_delete = Stack.delete
    resources_property = Stack.stack_resources
    outputs_property = Stack.outputs

    def delete(self):
        records = []
        for logical_id, resource in list(self.resource_map._parsed_resources.items()):
            if isinstance(resource, str) or resource is None:
                continue
            retained = self.resource_map._resource_json_map.get(logical_id, {}).get("DeletionPolicy") == "Retain"
            records.append(
                SimpleNamespace(
                    logical_resource_id=logical_id,
                    physical_resource_id=getattr(resource, "physical_resource_id", None),
                    cf_resource_type=getattr(resource, "cf_resource_type", None),
                    record_status="DELETE_SKIPPED" if retained else "DELETE_COMPLETE",
                )
            )
        original_delete(self)
        self._deleted_records = records

    def stack_resources(self):
        records = getattr(self, "_deleted_records", None)
        return records if records is not None else resources_property.fget(self)

    def outputs(self):
        return [] if getattr(self, "_deleted_records", None) is not None else outputs_property.fget(self)

    Stack.delete = delete
    Stack.stack_resources = property(stack_resources)
    Stack.outputs = property(outputs)

    dto_init = responses.StackResourceDTO.__init__

    def dto(self, stack, resource):
        dto_init(self, stack, resource)
        status = getattr(resource, "record_status", None)
        if status:
            self.resource_status = status

    responses.StackResourceDTO.__init__ = dto


def main() -> None:
    _kms_policy_as_text()
    _deleted_stacks_as_records()
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
