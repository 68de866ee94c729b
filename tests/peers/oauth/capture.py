# capture.py — a loopback HTTP server that records every request it gets
# (method, path, whether an Authorization header came, body length — never
# the body or the header's value) as one JSON line in FILE and answers 400
# {"error":"invalid_grant"}. Used by tests/integration/test_oauth_refresh.sh
# to prove that a token is NOT sent to a token endpoint that replaced the
# one that issued it (security review F1).
# Usage: python3 capture.py PORT FILE   (binds 127.0.0.1)
import http.server, json, sys

port, out = int(sys.argv[1]), sys.argv[2]

class H(http.server.BaseHTTPRequestHandler):
    def handle_one(self):
        n = int(self.headers.get('content-length') or 0)
        self.rfile.read(n)
        with open(out, 'a') as f:
            f.write(json.dumps({'method': self.command, 'path': self.path,
                                'authorization': 'authorization' in self.headers, 'body_len': n}) + '\n')
        body = b'{"error":"invalid_grant"}'
        self.send_response(400)
        self.send_header('content-type', 'application/json')
        self.send_header('content-length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = handle_one
    def log_message(self, *a):
        pass

open(out, 'a').close()
http.server.HTTPServer(('127.0.0.1', port), H).serve_forever()
