package main

import "os"

func osGetpid() int { return os.Getpid() }
