# Sourced by the gpu-*.sh scripts: finds thermabench and makes NVIDIA's
# OpenCL driver visible to the ICD loader when no .icd file registers it
# (common in containers that mount the driver but not /etc/OpenCL/vendors).
TB=${THERMABENCH:-build/release/thermabench}
if [ ! -x "$TB" ]; then
  echo "$0: no thermabench at $TB (build it, or set THERMABENCH=/path/to/thermabench)" >&2
  exit 2
fi
if [ -z "${OCL_ICD_VENDORS:-}" ] && ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
  if ldconfig -p 2>/dev/null | grep -q libnvidia-opencl.so.1 || ls /usr/local/nvidia/lib64/libnvidia-opencl.so.1 >/dev/null 2>&1; then
    OCL_ICD_VENDORS=$(mktemp -d)
    echo libnvidia-opencl.so.1 > "$OCL_ICD_VENDORS/nvidia.icd"
    export OCL_ICD_VENDORS
    echo "$0: registered NVIDIA's OpenCL driver through OCL_ICD_VENDORS=$OCL_ICD_VENDORS" >&2
  fi
fi
# Samples nvidia-smi beside the harness, as an independent record of the
# card's state (clock-event reasons by name, power, clocks, temperature).
smi_log_start() {
  SMI_PID=
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=timestamp,index,temperature.gpu,power.draw,power.limit,clocks.sm,clocks.mem,utilization.gpu,clocks_event_reasons.active,pstate \
      --format=csv,nounits -lms 1000 > "$1" 2>&1 &
    SMI_PID=$!
  fi
}
smi_log_stop() { [ -n "${SMI_PID:-}" ] && kill "$SMI_PID" 2>/dev/null; wait "${SMI_PID:-}" 2>/dev/null || true; }
