// Command testapp is the app the real-node tests deploy. One static binary, several behaviours:
//
//	testapp serve [ARGS...]  HTTP on $PORT (default 8080): / answers what the process sees (its
//	                         settings, arguments, user, files it was asked to read), /healthz
//	                         (also /ready) is 200 until /sick is called, or never when the
//	                         setting TESTAPP_SICK is set; /fetch?url=U fetches U (the image has
//	                         no curl) and answers with its status and body.
//	testapp crash            prints a line and exits 3 after a moment.
//	testapp hog              allocates memory until the kernel kills it.
//	testapp write PATH       writes PATH (making its folder), then serves; exits 1 if it cannot.
//	testapp task CODE SECS [WORDS...]  a job's run or a release step: prints its settings as one
//	                         JSON line, sleeps SECS seconds, prints WORDS and exits with CODE.
//	testapp ARGS...          any other arguments: serve, showing them as given.
//
// Every request is logged to stdout, so `unhazzle logs` has real output to show.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

func main() {
	mode, args := "serve", []string{}
	if len(os.Args) > 1 {
		mode, args = os.Args[1], os.Args[2:]
	}
	switch mode {
	case "serve":
		serve(args)
	case "crash":
		fmt.Println("testapp: starting, then crashing on purpose")
		time.Sleep(500 * time.Millisecond)
		fmt.Fprintln(os.Stderr, "testapp: fatal: crashing on purpose")
		os.Exit(3)
	case "hog":
		hog()
	case "task":
		task(args)
	case "write":
		if len(args) == 0 {
			fmt.Fprintln(os.Stderr, "testapp write: PATH missing")
			os.Exit(2)
		}
		// As images that write at start do (nginx's cache, a pid file): a folder, then a file in
		// it; a failure ends the process, so the instance never starts.
		if err := os.MkdirAll(filepath.Dir(args[0]), 0o755); err != nil {
			fmt.Fprintf(os.Stderr, "testapp: fatal: %v\n", err)
			os.Exit(1)
		}
		if err := os.WriteFile(args[0], []byte("written\n"), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "testapp: fatal: %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("testapp: wrote %s\n", args[0])
		serve(args[1:])
	default: // arguments of the app's own (a spec's `args`): serve, showing them as given
		serve(os.Args[1:])
	}
}

func task(args []string) {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "testapp task: CODE SECS missing")
		os.Exit(2)
	}
	var code, secs int
	fmt.Sscan(args[0], &code)
	fmt.Sscan(args[1], &secs)
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	line, _ := json.Marshal(map[string]any{"task": "start", "env": env, "args": args[2:]})
	fmt.Println(string(line))
	time.Sleep(time.Duration(secs) * time.Second)
	fmt.Println(strings.Join(append([]string{"task: done"}, args[2:]...), " "))
	os.Exit(code)
}

func hog() {
	fmt.Println("testapp: allocating memory until stopped")
	var held [][]byte
	for {
		chunk := make([]byte, 16<<20)
		for i := range chunk {
			chunk[i] = byte(i) // touch every page so it is really resident
		}
		held = append(held, chunk)
		fmt.Printf("testapp: holding %d MiB\n", len(held)*16)
		time.Sleep(50 * time.Millisecond)
	}
}

func serve(args []string) {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	var sick atomic.Bool
	sick.Store(os.Getenv("TESTAPP_SICK") != "")
	mux := http.NewServeMux()
	health := func(w http.ResponseWriter, r *http.Request) {
		if sick.Load() {
			http.Error(w, "sick", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	}
	mux.HandleFunc("/healthz", health)
	mux.HandleFunc("/ready", health)
	mux.HandleFunc("/sick", func(w http.ResponseWriter, r *http.Request) {
		sick.Store(true)
		io.WriteString(w, "now failing health checks\n")
	})
	mux.HandleFunc("/fetch", func(w http.ResponseWriter, r *http.Request) {
		client := http.Client{Timeout: 3 * time.Second}
		resp, err := client.Get(r.URL.Query().Get("url"))
		if err != nil {
			writeJSON(w, map[string]any{"error": err.Error()})
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		writeJSON(w, map[string]any{"status": resp.StatusCode, "body": string(body)})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		files := map[string]string{}
		for _, p := range r.URL.Query()["file"] {
			if data, err := os.ReadFile(p); err == nil {
				files[p] = string(data)
			} else {
				files[p] = "error: " + err.Error()
			}
		}
		host, _ := os.Hostname()
		writeJSON(w, map[string]any{"env": env, "args": args, "uid": os.Getuid(), "gid": os.Getgid(),
			"hostname": host, "files": files})
	})
	logged := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("testapp: %s %s\n", r.Method, r.URL.Path)
		mux.ServeHTTP(w, r)
	})
	fmt.Printf("testapp: listening on :%s (uid %d, args %q)\n", port, os.Getuid(), args)
	if err := http.ListenAndServe(":"+port, logged); err != nil {
		fmt.Fprintf(os.Stderr, "testapp: %v\n", err)
		os.Exit(1)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
