"""Run sekmet-fhir on 127.0.0.1 at a port the OS picks, for the integration tests.

Started with the Python of the venv sekmet-fhir is installed in (``fhir_servers.py``), in a
folder of its own holding ``settings.yaml`` (a fresh, empty database per start). The socket is
bound here, before the app is built, so the server's base URL (its ``Location`` headers and
``fullUrl``s) names the real port; the port is printed as ``listening <port>`` once bound.
``POST /__reset`` (outside the FHIR base) empties the database (sekmet's own ``reset``).
"""

import os
import socket
import sys


def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    os.environ["SEKMET_BASE_URL"] = f"http://127.0.0.1:{port}/fhir"
    import uvicorn
    from sekmet.main import create_app

    app = create_app()

    @app.post("/__reset", include_in_schema=False)
    def reset() -> dict[str, str]:  # a fresh, empty database without a new process
        app.state.ctx.store.reset()
        return {}

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    sys.stdout.write(f"listening {port}\n")
    sys.stdout.flush()
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
