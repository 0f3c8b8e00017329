package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Usage is a server process's resource use.
type Usage struct {
	// CPUSeconds is user + system CPU time (for a workload: spent during
	// its measured time).
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUCores is CPUSeconds per wall-clock second: 2.0 is two cores busy.
	CPUCores float64 `json:"cpu_cores,omitempty"`
	// CPUPerOpUS is CPUSeconds per successful operation, in microseconds:
	// the server's cost of one operation, which depends far less on what
	// else the machine is doing than ops/s does. 1e6 / CPUPerOpUS is the
	// throughput one fully available core would sustain.
	CPUPerOpUS float64 `json:"cpu_per_op_us,omitempty"`
	// PeakRSSBytes is the high-water mark of the resident set (VmHWM),
	// since the last ResetPeak.
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// RSSBytes is the resident set now (VmRSS).
	RSSBytes int64 `json:"rss_bytes"`
	// RSSBeforeBytes is the resident set when the workload started.
	RSSBeforeBytes int64 `json:"rss_before_bytes,omitempty"`
}

// Sampler measures a server process.
type Sampler interface {
	// Sample reads the CPU time used so far and the resident set sizes.
	Sample() (Usage, error)
	// ResetPeak restarts the peak-RSS high-water mark, if the system
	// allows it (an error otherwise: the peak then covers the whole run).
	ResetPeak() error
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go supports (the kernel fixes the
// userspace value whatever its internal HZ).
const clockTicks = 100

// ProcSampler reads /proc/PID/stat and /proc/PID/status (Linux).
type ProcSampler struct {
	PID  int
	Root string // "/proc" when empty
}

func (p ProcSampler) path(name string) string {
	root := p.Root
	if root == "" {
		root = "/proc"
	}
	return fmt.Sprintf("%s/%d/%s", root, p.PID, name)
}

// Sample implements Sampler.
func (p ProcSampler) Sample() (Usage, error) {
	stat, err := os.ReadFile(p.path("stat"))
	if err != nil {
		return Usage{}, err
	}
	cpu, err := parseStatCPU(stat)
	if err != nil {
		return Usage{}, err
	}
	status, err := os.ReadFile(p.path("status"))
	if err != nil {
		return Usage{}, err
	}
	hwm, rss, err := parseStatusRSS(status)
	if err != nil {
		return Usage{}, err
	}
	return Usage{CPUSeconds: cpu, PeakRSSBytes: hwm, RSSBytes: rss}, nil
}

// ResetPeak writes 5 to /proc/PID/clear_refs, which resets VmHWM to the
// current RSS (Linux ≥ 4.0, proc(5)).
func (p ProcSampler) ResetPeak() error {
	return os.WriteFile(p.path("clear_refs"), []byte("5"), 0)
}

// parseStatCPU returns utime + stime, in seconds, from /proc/PID/stat
// (proc(5): fields 14 and 15, counted after the parenthesised command
// name, which may itself contain spaces and parentheses).
func parseStatCPU(stat []byte) (float64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("proc stat: no command name")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, errors.New("proc stat: too few fields")
	}
	utime, err1 := strconv.ParseUint(f[14-3], 10, 64)
	stime, err2 := strconv.ParseUint(f[15-3], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("proc stat: %w", err)
	}
	return float64(utime+stime) / clockTicks, nil
}

// parseStatusRSS returns VmHWM and VmRSS, in bytes, from /proc/PID/status.
func parseStatusRSS(status []byte) (hwm, rss int64, err error) {
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmHWM" && k != "VmRSS") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("proc status: %s: %q", k, v)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("proc status: %s: %w", k, err)
		}
		if k == "VmHWM" {
			hwm = n << 10
		} else {
			rss = n << 10
		}
		found++
	}
	if found != 2 {
		return 0, 0, errors.New("proc status: no VmHWM or VmRSS")
	}
	return hwm, rss, nil
}

// LoadAverage returns the 1-, 5- and 15-minute load averages from
// /proc/loadavg, or an error where there is none.
func LoadAverage() ([3]float64, error) {
	var la [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return la, err
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return la, errors.New("loadavg: too few fields")
	}
	for i := range la {
		if la[i], err = strconv.ParseFloat(f[i], 64); err != nil {
			return la, fmt.Errorf("loadavg: %w", err)
		}
	}
	return la, nil
}

// CPUModel returns the first "model name" of /proc/cpuinfo, or "".
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
