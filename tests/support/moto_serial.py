"""moto_server, answering one request at a time.

moto's backends are not thread-safe: two CreateStack calls handled at once (cloudgrant creates the
VPC and S3 stacks in parallel, as AWS allows) can corrupt its EC2 state (a subnet "conflicting"
with itself). AWS has no such limit, so the product keeps its parallel requests; the double
serialises them. Same app and request handler as `moto_server`, with threaded=False.
"""
import sys

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
