package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
)

// nginxModules is where Debian's libnginx-mod-http-set-misc installs set_escape_uri (and
// the NDK it needs). ingress-nginx compiles the same module in to escape rd=.
const nginxModules = "/usr/share/nginx/modules"

// authResponseHeaders is the auth-response-headers annotation the docs give for tokengate.
var authResponseHeaders = []string{"Authorization", "X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Groups"}

// nginxSite is one Ingress host protected by auth-url.
type nginxSite struct {
	Host     string // server_name
	Upstream string // host:port of the dashboard
	// BufferSize is the proxy-buffer-size annotation (ingress-nginx default "4k"). It sizes
	// the buffer that must hold the whole /auth answer header, the ~9 KB token included.
	BufferSize string
	// AuthCache renders the auth-cache-key and auth-cache-duration annotations
	// (deploy/examples/ingress-nginx-auth-cache): /auth answers are cached per cookie and
	// host for 30s, unless tokengate's X-Accel-Expires says less.
	AuthCache bool
	// ErrorBackend, when set, renders the custom-http-errors: "500" and default-backend
	// annotations with this host:port as the default backend (README, "A readable page
	// behind ingress-nginx").
	ErrorBackend string
}

// nginxConfig is the part of the configuration ingress-nginx renders for
//
//	nginx.ingress.kubernetes.io/auth-url: http://<tokengate>/auth
//	nginx.ingress.kubernetes.io/auth-signin: https://auth.example.test/oauth2/start
//	nginx.ingress.kubernetes.io/auth-response-headers: Authorization,X-Auth-Request-User,X-Auth-Request-Email,X-Auth-Request-Groups
//	nginx.ingress.kubernetes.io/auth-always-set-cookie: "true"
//	nginx.ingress.kubernetes.io/proxy-buffer-size: 16k
//
// following rootfs/etc/nginx/template/nginx.tmpl of kubernetes/ingress-nginx (the internal
// _external-auth location, the signin named location, buildAuthResponseHeaders and
// buildAuthSignURL), without the Lua balancer, metrics and the options left at defaults.
var nginxConfig = template.Must(template.New("nginx.conf").Funcs(template.FuncMap{
	"nginxVar": func(h string) string { return strings.ReplaceAll(strings.ToLower(h), "-", "_") },
}).Parse(`
{{if .AsRoot}}user root;{{end}}
worker_processes 1;
pid {{.Dir}}/nginx.pid;
error_log {{.Dir}}/error.log notice;
load_module {{.Modules}}/ndk_http_module.so;
load_module {{.Modules}}/ngx_http_set_misc_module.so;

events {
    worker_connections 512;
}

http {
{{- with .Pool}}
    # Several tokengate replicas behind one Service, as ingress-nginx balances endpoints:
    # keep-alive connections, and nginx's default proxy_next_upstream (error timeout) that
    # retries a request on the next replica when one refuses or drops the connection.
    upstream tokengate_pool {
{{- range .}}
        server {{.}} max_fails=0;
{{- end}}
        keepalive 32;
    }
{{- end}}
    access_log {{.Dir}}/access.log;
    client_body_temp_path {{.Dir}}/client-body;
    proxy_temp_path {{.Dir}}/proxy-temp;
    fastcgi_temp_path {{.Dir}}/fastcgi-temp;
    uwsgi_temp_path {{.Dir}}/uwsgi-temp;
    scgi_temp_path {{.Dir}}/scgi-temp;

    # ingress-nginx defaults (client-header-buffer-size, large-client-header-buffers).
    client_header_buffer_size 1k;
    large_client_header_buffers 4 8k;
    server_tokens off;

    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
    map $http_x_request_id $req_id {
        default $http_x_request_id;
        ""      $request_id;
    }

    # auth-cache-key: ingress-nginx adds this zone when any Ingress sets the annotation.
    proxy_cache_path {{.Dir}}/auth-cache levels=1:2 keys_zone=auth_cache:1m max_size=16m inactive=30m use_temp_path=off;

    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate     {{.CertFile}};
    ssl_certificate_key {{.KeyFile}};

    # The Ingress of the auth host: sign-in, callback and sign-out reach tokengate through
    # the ingress like any other service. Its Set-Cookie headers (a chunked session for a
    # user with many groups) need more than the 4k default too.
    server {
        listen {{.Listen}} ssl;
        server_name auth.example.test;

        location / {
            set $pass_access_scheme $scheme;
            proxy_set_header Host                   $http_host;
            proxy_set_header X-Request-ID           $req_id;
            proxy_set_header X-Real-IP              $remote_addr;
            proxy_set_header X-Forwarded-For        $remote_addr;
            proxy_set_header X-Forwarded-Host       $http_host;
            proxy_set_header X-Forwarded-Port       $server_port;
            proxy_set_header X-Forwarded-Proto      $pass_access_scheme;
            proxy_set_header X-Scheme               $pass_access_scheme;
            proxy_set_header Proxy                  "";
            proxy_buffering   off;
            proxy_buffer_size 16k;
            proxy_buffers     4 16k;
            proxy_http_version 1.1;
            proxy_pass http://{{.Tokengate}};
        }
    }
{{range .Sites}}
    server {
        listen {{$.Listen}} ssl;
        server_name {{.Host}};

        location = /_external-auth-Lw-Prefix {
            internal;
            access_log off;

            proxy_pass_request_body     off;
            proxy_set_header            Content-Length          "";
            proxy_set_header            X-Forwarded-Proto       "";
            proxy_set_header            X-Request-ID            $req_id;

            proxy_set_header            Host                    {{$.Tokengate}};
            proxy_set_header            X-Original-URL          $scheme://$http_host$request_uri;
            proxy_set_header            X-Original-Method       $request_method;
            proxy_set_header            X-Sent-From             "nginx-ingress-controller";
            proxy_set_header            X-Real-IP               $remote_addr;
            proxy_set_header            X-Forwarded-For         $remote_addr;
            proxy_set_header            X-Auth-Request-Redirect $request_uri;

{{- if .AuthCache}}
            # auth-cache-key: $http_cookie$host, auth-cache-duration: 200 30s (the
            # cookie, not $cookie__tokengate, so a chunked session never shares a key).
            proxy_cache                             auth_cache;
            proxy_cache_key                         "$http_cookie$host";
            proxy_cache_valid                       200 30s;
            proxy_cache_lock                        on;
            # ingress-nginx turns buffering on with auth-cache-key: NGINX caches only
            # buffered answers.
            proxy_buffering                         on;
{{- else}}
            proxy_buffering                         off;
{{- end}}
            proxy_buffer_size                       {{.BufferSize}};
            proxy_buffers                           4 {{.BufferSize}};
            proxy_request_buffering                 on;

            proxy_ssl_server_name       on;
            proxy_pass_request_headers  on;
            proxy_http_version 1.1;
            proxy_pass http://{{$.Tokengate}}/auth;
        }

{{- if .ErrorBackend}}
        # buildCustomErrorLocationsPerServer: the error goes to the default backend with the
        # headers ingress-nginx documents for custom error pages.
        location @custom_default-backend_500 {
            internal;
            proxy_intercept_errors off;
            proxy_set_header X-Code         500;
            proxy_set_header X-Format       $http_accept;
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Request-ID   $req_id;
            proxy_set_header Host           $best_http_host;
            rewrite (.*) / break;
            proxy_pass http://{{.ErrorBackend}};
        }
{{- end}}

        location @auth-signin {
            internal;
            add_header Set-Cookie $auth_cookie;
            return 302 https://auth.example.test/oauth2/start?rd=$pass_access_scheme://$http_host$escaped_request_uri;
        }

        location / {
            set $pass_access_scheme  $scheme;
            set $best_http_host      $http_host;

            # this location requires authentication
            auth_request        /_external-auth-Lw-Prefix;
            auth_request_set    $auth_cookie $upstream_http_set_cookie;
            add_header          Set-Cookie $auth_cookie always;
{{- range $i, $h := $.ResponseHeaders}}
            auth_request_set $authHeader{{$i}} $upstream_http_{{nginxVar $h}};
            proxy_set_header '{{$h}}' $authHeader{{$i}};
{{- end}}

            set_escape_uri $escaped_request_uri $request_uri;
            error_page 401 = @auth-signin;
{{- if .ErrorBackend}}
            proxy_intercept_errors on;
            error_page 500 = @custom_default-backend_500;
{{- end}}

            proxy_set_header Host                   $best_http_host;
            proxy_set_header Upgrade                $http_upgrade;
            proxy_set_header Connection             $connection_upgrade;
            proxy_set_header X-Request-ID           $req_id;
            proxy_set_header X-Real-IP              $remote_addr;
            proxy_set_header X-Forwarded-For        $remote_addr;
            proxy_set_header X-Forwarded-Host       $best_http_host;
            proxy_set_header X-Forwarded-Port       $server_port;
            proxy_set_header X-Forwarded-Proto      $pass_access_scheme;
            proxy_set_header X-Forwarded-Scheme     $pass_access_scheme;
            proxy_set_header X-Scheme               $pass_access_scheme;
            proxy_set_header X-Original-Forwarded-For $http_x_forwarded_for;
            proxy_set_header Proxy                  "";

            proxy_buffering   off;
            proxy_buffer_size {{.BufferSize}};
            proxy_buffers     4 {{.BufferSize}};
            proxy_http_version 1.1;
            proxy_pass http://{{.Upstream}};
        }
    }
{{end}}
}
`))

// startNginx renders the configuration into dir and runs nginx in the foreground on a free
// port, returning the port once nginx routes a request to tokengate's /healthz.
func startNginx(t *testing.T, dir, tokengate string, sites []nginxSite, ready func(port int) error) int {
	t.Helper()
	port, _, _ := runNginx(t, dir, tokengate, nil, sites, ready)
	return port
}

// runNginx runs NGINX and returns its port, its process and a function that rewrites its
// configuration with another upstream pool.
func runNginx(t *testing.T, dir, tokengate string, pool []string, sites []nginxSite, ready func(port int) error) (int, *process, func([]string)) {
	t.Helper()
	bin := requireTool(t, "nginx", "/usr/sbin/nginx")
	for _, m := range []string{"ndk_http_module.so", "ngx_http_set_misc_module.so"} {
		requireFile(t, filepath.Join(nginxModules, m), "nginx set-misc module (Debian package libnginx-mod-http-set-misc) for set_escape_uri")
	}
	port := freePort(t)
	confFile := filepath.Join(dir, "nginx.conf")
	write := func(pool []string) {
		var conf strings.Builder
		err := nginxConfig.Execute(&conf, map[string]any{
			"AsRoot":          os.Geteuid() == 0, // workers must read the temp dir the test made
			"Dir":             dir,
			"Modules":         nginxModules,
			"CertFile":        testPKI.CertFile,
			"KeyFile":         testPKI.KeyFile,
			"Listen":          hostPort(port),
			"Tokengate":       tokengate,
			"Pool":            pool,
			"Sites":           sites,
			"ResponseHeaders": authResponseHeaders,
		})
		mustf(t, err, "render nginx.conf")
		writeFile(t, confFile, conf.String(), 0o644)
	}
	write(pool)
	cmd := exec.Command(bin, "-p", dir, "-c", confFile, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	p := startProcess(t, "nginx", dir, cmd)
	p.waitReady(t, func() error { return ready(port) })
	t.Cleanup(func() {
		if t.Failed() {
			dumpFile(t, "nginx error.log", filepath.Join(dir, "error.log"))
		}
	})
	return port, p, write
}

func dumpFile(t *testing.T, what, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	t.Logf("--- end of %s ---\n%s", what, b)
}
