#!/usr/bin/env python3
# Run a command on a pseudo-terminal COLS columns wide and relay what it writes to our stdout, so tests can see what
# bt draws on a real terminal. Prints "PID <n>" on stderr first. SIGUSR1 resizes the terminal to $RESIZE_COLS
# columns (the kernel sends the command SIGWINCH). Exits with the command's exit code (128+N after signal N).
# Usage: on-terminal.py COLS CMD [ARG...]
import fcntl, os, pty, signal, struct, sys, termios

cols = int(sys.argv[1])
cmd = sys.argv[2:]

def set_size(fd, c):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 24, c, 0, 0))

pid, fd = pty.fork()
if pid == 0:
    set_size(0, cols)  # before exec, so the command sees its width from the start
    os.execvp(cmd[0], cmd)

sys.stderr.write(f'PID {pid}\n')
sys.stderr.flush()
signal.signal(signal.SIGUSR1, lambda *_: set_size(fd, int(os.environ.get('RESIZE_COLS', '40'))))
out = sys.stdout.buffer
while True:
    try:
        data = os.read(fd, 65536)
    except InterruptedError:
        continue
    except OSError:  # EIO: the command closed the terminal (exited)
        break
    if not data:
        break
    out.write(data)
    out.flush()
_, status = os.waitpid(pid, 0)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
