# Sourced by the MPI tests and benches: how to run OpenMPI's mpirun on this machine.
# We run as root in a container: --allow-run-as-root; 2 cores: --oversubscribe; loopback only:
# shared memory + TCP on lo (no InfiniBand / high-speed probing, no warnings about it).
MPIRUN_ARGS=(--allow-run-as-root --oversubscribe --bind-to none --mca btl self,vader,tcp --mca btl_tcp_if_include lo
             --mca oob_tcp_if_include lo -x OMP_NUM_THREADS)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
