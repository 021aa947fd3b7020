"""Words for runtime findings: when the program fails, what it then says (the message people search
for), and the fixes for the image at hand. The deciding is in ``runtime``."""

from __future__ import annotations

import dataclasses

from linkcheck.model import Libc, NeedKind, NeedReader, RuntimeFinding, Target
from linkcheck.verdict.runtime import musl_retries_over_tcp


def worded(finding: RuntimeFinding, target: Target) -> RuntimeFinding:
    """``finding`` with its ``when``, ``message`` and ``fixes`` filled in for ``target``."""
    when, message = _when_and_message(finding)
    return dataclasses.replace(finding, when=when, message=message, fixes=_fixes(finding, target))


def _when_and_message(f: RuntimeFinding) -> tuple[str, str]:
    kind, reader = f.kind, f.reader
    if kind is NeedKind.CA_CERTIFICATES:
        when = "at the first TLS connection it verifies (HTTPS requests included)"
        if reader is NeedReader.GO:
            return when, "x509: certificate signed by unknown authority"
        if reader is NeedReader.OPENSSL:
            return when, ("certificate verify failed (unable to get local issuer certificate); "
                          "curl: (60) SSL certificate problem")
        return when, "invalid peer certificate: UnknownIssuer (no native root CA certificates found)"
    if kind is NeedKind.TIME_ZONES:
        return ("when it loads a named time zone (time.LoadLocation, or TZ naming a zone)",
                "unknown time zone Europe/Berlin (the zone asked for; with TZ set instead: times silently "
                "in UTC)")
    if kind is NeedKind.USERS:
        if reader is NeedReader.GO:
            return ("when it looks up a user or group (os/user)",
                    "open /etc/passwd: no such file or directory; user: unknown user NAME")
        return ("when it looks up a user or group (getpwnam, getpwuid ...)",
                "the lookup finds nobody: \"no such user\", \"cannot find name for user ID 1000\", "
                "\"I have no name!\"")
    if kind is NeedKind.DNS:
        return "when it resolves a name through DNS (one not in /etc/hosts)", _dns_message(f)
    if kind is NeedKind.LOCALE:
        name = f.subject or "the locale"
        return ('at start, when it calls setlocale(LC_ALL, "")',
                f"setlocale fails and it runs in the C locale (ASCII: UTF-8 text is rejected or mangled); "
                f"\"perl: warning: Setting locale failed.\", \"bash: warning: setlocale: LC_ALL: cannot "
                f"change locale ({name})\"")
    if kind is NeedKind.DLOPEN:
        lib = f.subject or "the library"
        return (f"if and when it opens {lib} with dlopen()",
                f"{lib}: cannot open shared object file: No such file or directory")
    return ("when it creates a temporary file",
            "open /tmp/...: no such file or directory" if reader is NeedReader.GO
            else "mkstemp: No such file or directory")


def _fixes(f: RuntimeFinding, target: Target) -> tuple[str, ...]:
    family = _family_of(target)
    kind = f.kind
    out: list[str] = []
    if kind is NeedKind.CA_CERTIFICATES:
        out.extend(_install(family, "ca-certificates"))
        out.append("COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/")
        out.extend(_instead_of_scratch(family, "it has a CA bundle, tzdata, /etc/passwd and /tmp"))
        if f.reader is NeedReader.GO:
            out.append('or embed roots in the program: import _ "golang.org/x/crypto/x509roots/fallback" '
                       "(Go >= 1.20)")
        out.append("or point SSL_CERT_FILE at a bundle the image has")
    elif kind is NeedKind.TIME_ZONES:
        out.append('embed the zone database: import _ "time/tzdata", or build with -tags timetzdata')
        out.extend(_install(family, "tzdata"))
        out.append("COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo")
        out.extend(_instead_of_scratch(family))
    elif kind is NeedKind.USERS:
        out.append("COPY --from=build /etc/passwd /etc/group /etc/")
        out.extend(_instead_of_scratch(family, "it has root and nonroot users"))
        if f.reader is NeedReader.GO:
            out.append("(building with -tags osusergo does not help: the pure Go lookup reads "
                       "/etc/passwd too)")
    elif kind is NeedKind.LOCALE:
        out.extend(_locale_fixes(f.subject or "", target, family))
    elif kind is NeedKind.DNS:
        out.append("name services by their fully qualified name with a final dot (db.example.com.), or lower "
                   "ndots where the platform raises it (Kubernetes pods: ndots:5, dnsConfig options)")
        if musl_retries_over_tcp(target.libc_version) is not True:
            out.append("use musl 1.2.4 or later (alpine:3.18 or newer), which asks again over TCP when an "
                       "answer is truncated")
        out.append("or a glibc-based image (debian:bookworm-slim), whose resolver goes on to the next search "
                   "domain")
    elif kind is NeedKind.DLOPEN:
        lib = f.subject or "the library"
        if family == "alpine":
            out.append(f"install the package that provides {lib} (apk add ...)")
        elif family == "debian":
            out.append(f"install the package that provides {lib} (apt-get install ...)")
        else:
            out.append(f"copy {lib} and what it needs into the image's library directories")
        out.append("ignore this if the program never takes the code path that opens it")
    else:
        out.append("COPY --from=build /tmp /tmp (an empty, world-writable /tmp), or set TMPDIR to a "
                   "writable directory")
        out.extend(_instead_of_scratch(family, "it has /tmp"))
    return tuple(out)


def _dns_message(f: RuntimeFinding) -> str:
    """musl's resolver against glibc's: what real runs showed (tests/test_runtime_real.py)."""
    version = (f.subject or "musl").removeprefix("musl ")
    words = ("musl's resolver tries the search domains first for a name with fewer dots than ndots (1 unless "
             "resolv.conf says), and the first domain answering with an error other than \"no such name\" "
             "(SERVFAIL, no address records) ends the lookup: \"Try again\", where glibc goes on to the next "
             "domain and the name itself; it asks every nameserver at once and takes the first answer")
    tcp = musl_retries_over_tcp(version)
    if tcp is False:
        words += (f"; musl {version} never asks again over TCP, so a truncated answer (over 512 bytes, or "
                  "from a server that truncates) gives \"Name does not resolve\"")
    elif tcp is None:
        words += ("; before musl 1.2.4 it never asks again over TCP, so a truncated answer gives \"Name does "
                  "not resolve\"")
    return words


def _install(family: str, package: str) -> list[str]:
    """The line that installs ``package`` with the image's package manager; none without one."""
    if family == "alpine":
        return [f"RUN apk add --no-cache {package}"]
    if family == "debian":
        return [f"RUN apt-get update && apt-get install -y --no-install-recommends {package}"]
    return []


def _instead_of_scratch(family: str, why: str = "") -> list[str]:
    """For scratch (or distroless/static): the base that has what programs read after they start."""
    if family != "scratch":
        return []
    return ["build on gcr.io/distroless/static instead of scratch" + (f" ({why})" if why else "")]


def _locale_fixes(name: str, target: Target, family: str) -> list[str]:
    out: list[str] = []
    base, dot, codeset = name.partition("@")[0].partition(".")
    if family == "debian" and dot and codeset:
        out.append("RUN apt-get update && apt-get install -y --no-install-recommends locales && "
                   f"localedef -i {base} -f {codeset} {name}")
    out.append(f"COPY --from=build /usr/lib/locale/locale-archive /usr/lib/locale/ (a stage where {name} "
               "is compiled)")
    utf8 = [p for p in sorted(target.runtime_files or ())
            if p.lower() in ("/usr/lib/locale/c.utf8", "/usr/lib/locale/c.utf-8")]
    if utf8:
        out.append(f"or set LANG=C.UTF-8, which the image has ({utf8[0]})")
    return out


def _family_of(target: Target) -> str:
    files = target.files
    if files.exists("/sbin/apk"):
        return "alpine"
    if files.exists("/usr/bin/apt-get") or files.exists("/usr/bin/dpkg"):
        return "debian"
    shells = ("/bin/sh", "/busybox/sh")
    if target.libc is Libc.NONE and not target.loaders and not any(files.exists(s) for s in shells):
        return "scratch"  # nothing to install with: scratch, or distroless/static
    return ""
