# SPDX-License-Identifier: MIT
# weft's fibers in gdb, for a live process or a core file:
#
#     (gdb) source scripts/weft-gdb.py
#     (gdb) weft-fibers            every fiber of every thread's run(), with a
#                                  backtrace of each suspended one
#     (gdb) weft-fibers 0          the list alone
#     (gdb) weft-fibers 20         backtraces of at most 20 frames (default 40)
#
# Each line says the fiber's id and name, its state (running, ready, parked),
# what a parked fiber waits on (as weft::dump says it) and for how long at
# least: up to the latest time its loop recorded (the last park), which is
# all a core file keeps of the clock.
#
# How a backtrace is had. A suspended fiber's registers are not in any
# thread: Boost.Context's jump_fcontext pushed them on the fiber's own stack,
# and weft keeps the stack pointer it returned in fiber::ctx (see
# lib/detail/context.hpp; the side that lands stores it, scheduler::land).
# On x86-64 (Boost 1.74's jump_x86_64_sysv_elf_gas.S) that pointer holds, in
# order: the MXCSR and x87 control words (8 bytes), r12, r13, r14, r15, rbx,
# rbp, then the address jump_fcontext returns to; the fiber's rsp is the
# pointer + 0x40 once it has returned. gdb cannot write a core file's
# registers, so the script does not set $rsp and $rip: it installs a frame
# unwinder (as folly's fiber script does) that, while one fiber is being
# shown, says that the thread's innermost frame was called from the fiber's
# saved registers. gdb's own unwinder then walks the fiber's stack from there
# with the DWARF call-frame information, so -O2 code needs no frame pointers.
#
# What the build needs: debug information for weft's library (-g: meson's
# debug and debugoptimized build types have it, release does not), to read
# the scheduler's and the fibers' fields; the program's own frames are named
# from its symbols, and shown with file and line when it has -g too. x86-64
# only.

import gdb
import gdb.unwinder

# Offsets in the block jump_fcontext saves (x86-64 System V, Boost.Context 1.74).
_SAVED = {"r12": 0x8, "r13": 0x10, "r14": 0x18, "r15": 0x20, "rbx": 0x28, "rbp": 0x30, "rip": 0x38}
_SP_AFTER_RETURN = 0x40


class _FrameId:
    """A frame's identity for create_unwind_info (gdb 14 has gdb.unwinder.FrameId)."""

    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


class _FiberUnwinder(gdb.unwinder.Unwinder):
    """While `ctx` is set, the innermost frame's caller is the fiber saved at ctx."""

    def __init__(self):
        super().__init__("weft-fiber")
        self.ctx = None

    def __call__(self, pending_frame):
        if self.ctx is None or pending_frame.level() != 0:
            return None
        u64 = gdb.lookup_type("unsigned long").pointer()
        info = pending_frame.create_unwind_info(
            _FrameId(pending_frame.read_register("rsp"), pending_frame.read_register("rip")))
        for reg, off in _SAVED.items():
            info.add_saved_register(reg, gdb.Value(self.ctx + off).cast(u64).dereference())
        info.add_saved_register("rsp", gdb.Value(self.ctx + _SP_AFTER_RETURN))
        return info


_unwinder = _FiberUnwinder()
gdb.unwinder.register_unwinder(None, _unwinder, replace=True)


def _task_field(task, name):
    """A field of the task_base at `task`, read by its offset: dereferencing
    the polymorphic task_base* would make gdb look for the dynamic type's RTTI
    and warn for every lambda it cannot name."""
    t = gdb.lookup_type("weft::detail::task_base")
    for field in t.fields():
        if field.name == name:
            return gdb.Value(int(task) + field.bitpos // 8).cast(field.type.pointer()).dereference()
    raise gdb.GdbError("weft-fibers: weft::detail::task_base has no field " + name)


def _string(v):
    """A libstdc++ std::string's text."""
    n = int(v["_M_string_length"])
    return v["_M_dataplus"]["_M_p"].string(length=n) if n else ""


def _duration(ns):
    ms = max(ns, 0) // 1000000
    if ms < 1000:
        return "%d ms" % ms
    if ms < 60000:
        return "%d.%d s" % (ms // 1000, ms % 1000 // 100)
    if ms < 3600000:
        return "%d min %d s" % (ms // 60000, ms % 60000 // 1000)
    return "%d h %d min" % (ms // 3600000, ms % 3600000 // 60000)


def _describe(f, sched, now):
    """One fiber's line, in weft::dump's words; `now` is the latest coarse
    time the process recorded (a core keeps no clock)."""
    task = f["task"]
    line = "fiber #%d" % int(_task_field(task, "id"))
    name = _string(_task_field(task, "name"))
    if name:
        line += " '%s'" % name
    if f == sched["running_"]:
        line += " is running (its frames are the thread's own: bt)"
    elif bool(f["parked"]):
        w = f["waiting"]
        what = w["what"].string() if int(w["what"]) else "something"
        line += " waits on " + what
        if int(w["object"]):
            line += " 0x%x" % int(w["object"])
        if int(w["fd"]) >= 0:
            line += " fd %d" % int(w["fd"])
        line += " for at least " + _duration(now - int(f["parked_at"]))
        if not bool(f["interruptible"]):
            line += ", uninterruptible"
    elif not bool(f["started"]):
        line += " is ready, never run yet"
    else:
        line += " is ready"
    if bool(f["cancel_requested"]) and f != sched["running_"]:
        line += ", cancelled"
    return line


def _backtrace(ctx, depth):
    """The frames of the fiber suspended at ctx, innermost first."""
    lines = []
    gdb.invalidate_cached_frames()
    _unwinder.ctx = ctx
    try:
        frame = gdb.newest_frame().older()  # the newest is the thread's own; its caller is the fiber
        level = 0
        while frame is not None and level < depth:
            sal = frame.find_sal()
            where = ""
            if sal.symtab is not None:
                where = " at %s:%d" % (sal.symtab.filename, sal.line)
            else:
                solib = gdb.solib_name(frame.pc())
                if solib:
                    where = " from " + solib
            lines.append("#%-2d 0x%016x in %s%s" % (level, frame.pc(), frame.name() or "??", where))
            if frame.name() and frame.name().startswith("weft::detail::scheduler::entry"):
                break  # the fiber's first frame: below is make_fcontext's trampoline
            frame = frame.older()
            level += 1
    except gdb.error as e:
        lines.append("(the unwind stopped: %s)" % e)
    finally:
        _unwinder.ctx = None
        gdb.invalidate_cached_frames()
    return lines


class _Cxx:
    """Evaluates in C++, whatever language the selected frame is in (a core
    stopped in libc's abort() would read weft::detail::... as C)."""

    def __enter__(self):
        self.language = gdb.parameter("language")
        self.object = gdb.parameter("print object")
        gdb.execute("set language c++", to_string=True)
        gdb.execute("set print object off", to_string=True)  # a task's dynamic type is not needed

    def __exit__(self, *exc):
        gdb.execute("set language %s" % self.language, to_string=True)
        gdb.execute("set print object %s" % ("on" if self.object else "off"), to_string=True)


def _schedulers():
    """(thread, scheduler) for every thread of the inferior inside weft::run()."""
    found = []
    for thread in sorted(gdb.selected_inferior().threads(), key=lambda t: t.num):
        thread.switch()
        try:
            s = gdb.parse_and_eval("weft::detail::tls_scheduler")
        except gdb.error:
            continue
        if int(s):
            found.append((thread, s))
    return found


class WeftFibers(gdb.Command):
    """List weft's fibers: weft-fibers [DEPTH]. DEPTH (default 40) bounds each
suspended fiber's backtrace; 0 lists the fibers alone."""

    def __init__(self):
        super().__init__("weft-fibers", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        depth = int(arg) if arg.strip() else 40
        with _Cxx():
            self.list(depth)

    def list(self, depth):
        try:
            gdb.parse_and_eval("weft::detail::tls_scheduler")
        except gdb.error:
            raise gdb.GdbError("weft-fibers: no weft::detail::tls_scheduler here: is this a weft program, "
                               "and was libweft built with debug information (-g)?")
        selected = gdb.selected_thread()
        frame = gdb.selected_frame() if selected is not None else None
        try:
            scheds = _schedulers()
            if not scheds:
                gdb.write("weft: no thread is inside weft::run()\n")
            for thread, sched in scheds:
                gdb.write("weft: thread %d (LWP %d): %d live fibers\n" %
                          (thread.num, thread.ptid[1], int(sched["live_"])))
                # The loop's time is read by the first park() of a turn and
                # after each sleep: the latest of it and every fiber's park
                # is the latest time the process knew.
                now = int(sched["loop_time_"])
                f = sched["live_head_"]
                while int(f):
                    now = max(now, int(f["parked_at"]))
                    f = f["next_live"]
                f = sched["live_head_"]
                while int(f):
                    gdb.write("  %s\n" % _describe(f, sched, now))
                    if depth > 0 and f != sched["running_"] and bool(f["started"]):
                        thread.switch()
                        for line in _backtrace(int(f["ctx"]), depth):
                            gdb.write("      %s\n" % line)
                    f = f["next_live"]
        finally:
            if selected is not None:
                selected.switch()
                if frame is not None and frame.is_valid():
                    frame.select()


WeftFibers()
