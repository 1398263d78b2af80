// Command hello is the Go example function: build it as "bootstrap" for
// the provided.al2023 runtime (see run.sh).
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
)

type request struct {
	Name string `json:"name"`
}

type response struct {
	Message string `json:"message"`
	Runtime string `json:"runtime"`
}

func handle(ctx context.Context, r request) (response, error) {
	if r.Name == "" {
		r.Name = "world"
	}
	log.Printf("greeting %s", r.Name)
	return response{Message: "hello, " + r.Name + "!", Runtime: "go"}, nil
}

func main() { lambda.Start(handle) }
