/*
 * driver.bson._cbson: the C accelerator for the BSON codec.
 *
 * The pure-Python codec (driver/bson/_decoder.py, _encoder.py) is the reference: this
 * module takes over only the common cases (plain options, the everyday types) and
 * calls back into the Python code for everything else, so the two cannot drift apart
 * on the rare paths. Where it does decide itself it must give the same values, types
 * and key order, and reject the same malformed input with InvalidBSON.
 *
 * Every offset is a Py_ssize_t inside [0, len(data)], and every read is checked
 * against the end of its enclosing document first; lengths read from the data are
 * compared by subtraction (``size > end - pos``) so no sum can overflow.
 *
 * Single-phase initialisation with module-level references: the module holds nothing
 * but references to the Python objects it calls back into, looked up once at import.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <datetime.h>

/* Looked up once at import; borrowed for the life of the process. */
static PyObject *InvalidBSON;        /* driver.errors.InvalidBSON */
static PyObject *InvalidDocument;    /* driver.errors.InvalidDocument */
static PyObject *InvalidStringData;  /* driver.errors.InvalidStringData */
static PyObject *DocumentTooLarge;   /* driver.errors.DocumentTooLarge */
static PyObject *Int64Type;          /* driver.bson.int64.Int64 */
static PyObject *TimestampType;      /* driver.bson.timestamp.Timestamp */
static PyTypeObject *ObjectIdType;   /* driver.bson.objectid.ObjectId */
static PyObject *oid_from_binary;    /* ObjectId._from_binary: the pure decoder's factory */
static PyObject *oid_slot;           /* the ObjectId.__id member descriptor, or NULL */
static PyObject *CodecOptionsType;
static PyObject *maybe_dbref;        /* _decoder._maybe_dbref */
static PyObject *pure_decode_document;
static PyObject *pure_inflate_raw;
static PyObject *pure_encode_document;
static PyObject *readers[256];       /* _decoder._READERS as a table; NULL: unknown type */
static PyObject *empty_tuple;

static PyObject *s_ref;              /* "$ref" */
static PyObject *s_plain_dict, *s_raw_class, *s_decoders, *s_handler, *s_document_class;
static PyObject *s_strict, *s_tz_aware, *s_datetime_conversion;
static PyObject *conversion_datetime; /* DatetimeConversion.DATETIME */

/* ------------------------------------------------------------------------------------
 * Little-endian reads. Byte by byte, so neither alignment nor host order matters.
 */

static int32_t
get_i32(const unsigned char *p)
{
    return (int32_t)((uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                     ((uint32_t)p[3] << 24));
}

static int64_t
get_i64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return (int64_t)v;
}

static double
get_f64(const unsigned char *p)
{
    uint64_t bits = (uint64_t)get_i64(p);
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

/* ------------------------------------------------------------------------------------
 * Codec options. The C paths read a few attributes; anything they do not cover (a
 * document class other than dict or a raw class, type_registry decoders, a unicode
 * error handler other than "strict", a CodecOptions subclass) goes to the pure code,
 * and datetimes are built here only for tz_aware=False with DatetimeConversion.DATETIME.
 * CodecOptions is immutable, so a verdict is cached per options object (a strong
 * reference is kept so an address cannot be reused by another object).
 */

enum { MODE_PURE = 0, MODE_DICT = 1, MODE_RAW = 2 };

typedef struct {
    PyObject *opts;
    PyObject *document_class;
    int mode;
    int naive_datetimes;  /* tz_aware=False, DatetimeConversion.DATETIME */
} OptionsVerdict;

#define VERDICT_CACHE 4
static OptionsVerdict verdicts[VERDICT_CACHE];
static int verdict_next;

static int
is_true_attr(PyObject *opts, PyObject *name, int *out)
{
    PyObject *value = PyObject_GetAttr(opts, name);
    if (value == NULL) {
        return -1;
    }
    *out = (value == Py_True);
    Py_DECREF(value);
    return 0;
}

/* The verdict on ``opts`` (borrowed from the cache), or NULL with an error set. */
static const OptionsVerdict *
judge_options(PyObject *opts)
{
    static const OptionsVerdict pure = {NULL, NULL, MODE_PURE, 0};
    for (int i = 0; i < VERDICT_CACHE; i++) {
        if (verdicts[i].opts == opts) {
            return &verdicts[i];
        }
    }
    if ((PyObject *)Py_TYPE(opts) != CodecOptionsType) {
        return &pure;
    }
    int plain, raw, tz_aware, mode = MODE_PURE;
    PyObject *decoders = NULL, *handler = NULL, *doc_class = NULL, *conversion = NULL;
    if (is_true_attr(opts, s_plain_dict, &plain) < 0 || is_true_attr(opts, s_raw_class, &raw) < 0 ||
        is_true_attr(opts, s_tz_aware, &tz_aware) < 0) {
        return NULL;
    }
    decoders = PyObject_GetAttr(opts, s_decoders);
    if (decoders == NULL) {
        goto error;
    }
    handler = PyObject_GetAttr(opts, s_handler);
    if (handler == NULL) {
        goto error;
    }
    conversion = PyObject_GetAttr(opts, s_datetime_conversion);
    if (conversion == NULL) {
        goto error;
    }
    doc_class = PyObject_GetAttr(opts, s_document_class);
    if (doc_class == NULL) {
        goto error;
    }
    if (PyDict_CheckExact(decoders) && PyDict_GET_SIZE(decoders) == 0 &&
        PyUnicode_CheckExact(handler) && PyUnicode_Compare(handler, s_strict) == 0) {
        mode = plain ? MODE_DICT : raw ? MODE_RAW : MODE_PURE;
    }
    int naive_datetimes = !tz_aware && conversion == conversion_datetime;
    Py_DECREF(decoders);
    Py_DECREF(handler);
    Py_DECREF(conversion);

    OptionsVerdict *slot = &verdicts[verdict_next];
    verdict_next = (verdict_next + 1) % VERDICT_CACHE;
    PyObject *old_opts = slot->opts, *old_class = slot->document_class;
    Py_INCREF(opts);
    slot->opts = opts;
    slot->document_class = doc_class; /* the reference from GetAttr */
    slot->mode = mode;
    slot->naive_datetimes = naive_datetimes;
    Py_XDECREF(old_opts);
    Py_XDECREF(old_class);
    return slot;

error:
    Py_XDECREF(decoders);
    Py_XDECREF(handler);
    Py_XDECREF(conversion);
    return NULL;
}

/* ------------------------------------------------------------------------------------
 * Nesting. Each level of documents/arrays is a C call here where the pure codec makes
 * one or two Python calls, so deep input must fail here much as it does there: with
 * RecursionError (reported as InvalidBSON or InvalidDocument) past Python's recursion
 * limit. Py_EnterRecursiveCall alone does not give that on 3.12+, where it counts C
 * calls against a separate, higher limit, hence the explicit depth check. The fixed
 * ceiling protects the C stack (a few hundred bytes a level) when an application has
 * raised the recursion limit far beyond it; MongoDB itself refuses 200 levels.
 */

#define MAX_NESTING 10000

typedef struct {
    int depth;
    int limit;
} Nesting;

static Nesting
new_nesting(void)
{
    int limit = Py_GetRecursionLimit();
    Nesting nesting = {0, limit < MAX_NESTING ? limit : MAX_NESTING};
    return nesting;
}

static int
enter_level(Nesting *nesting, const char *where)
{
    if (nesting->depth >= nesting->limit) {
        PyErr_Format(PyExc_RecursionError, "maximum recursion depth exceeded%s", where);
        return -1;
    }
    if (Py_EnterRecursiveCall(where)) {
        return -1;
    }
    nesting->depth++;
    return 0;
}

static void
leave_level(Nesting *nesting)
{
    nesting->depth--;
    Py_LeaveRecursiveCall();
}

/* ------------------------------------------------------------------------------------
 * Errors.
 */

/* The pending exception (normalized, traceback attached), now cleared; NULL if none. */
static PyObject *
take_exception(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (value != NULL && traceback != NULL) {
        PyException_SetTraceback(value, traceback);
    }
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    return value;
#endif
}

static void *
invalid(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    PyErr_FormatV(InvalidBSON, format, args);
    va_end(args);
    return NULL;
}

/*
 * Whatever went wrong inside a decode becomes InvalidBSON, exactly as the pure
 * decode_document reports it: InvalidBSON passes through, RecursionError becomes "nested
 * too deeply", any other Exception is wrapped with the original as __cause__, and a
 * BaseException (KeyboardInterrupt...) is left alone.
 */
static void
as_invalid_bson(void)
{
    if (!PyErr_Occurred() || PyErr_ExceptionMatches(InvalidBSON)) {
        return;
    }
    if (PyErr_ExceptionMatches(PyExc_RecursionError)) {
        PyErr_Clear();
        PyErr_SetString(InvalidBSON, "document is nested too deeply to decode");
        return;
    }
    if (!PyErr_ExceptionMatches(PyExc_Exception)) {
        return;
    }
    PyObject *cause = take_exception();
    PyObject *wrapped = NULL;
    PyObject *message = PyUnicode_FromFormat("invalid BSON: %S", cause);
    if (message != NULL) {
        wrapped = PyObject_CallOneArg(InvalidBSON, message);
        Py_DECREF(message);
    }
    if (wrapped == NULL) {
        /* Building the error failed (no memory): that failure is what gets reported. */
        Py_DECREF(cause);
        return;
    }
    PyException_SetContext(wrapped, Py_NewRef(cause));
    PyException_SetCause(wrapped, cause); /* steals the reference */
    PyErr_SetObject(InvalidBSON, wrapped);
    Py_DECREF(wrapped);
}

/* ------------------------------------------------------------------------------------
 * Decoding.
 */

typedef struct {
    PyObject *data;               /* the bytes object, handed to the Python readers */
    const unsigned char *buf;
    PyObject *opts;
    PyObject *raw_class;          /* the raw document class in MODE_RAW, else NULL */
    int naive_datetimes;          /* datetimes may be built here (see read_naive_datetime) */
    Nesting nesting;
} Decoder;

static PyObject *decode_elements(Decoder *d, Py_ssize_t pos, Py_ssize_t end);
static PyObject *read_array(Decoder *d, Py_ssize_t pos, Py_ssize_t end, Py_ssize_t *next);

/*
 * The size of the document or array whose length prefix is at ``pos``: at least 5,
 * within ``end`` and ending with a NUL byte. -1 (InvalidBSON set) otherwise.
 */
static Py_ssize_t
container_size(const unsigned char *buf, Py_ssize_t pos, Py_ssize_t end, const char *what)
{
    if (end - pos < 5) {
        invalid("%s truncated: a BSON %s needs at least 5 bytes, %zd remain", what, what,
                end - pos);
        return -1;
    }
    int32_t size = get_i32(buf + pos);
    if (size < 5 || size > end - pos) {
        invalid("invalid %s length %d: %zd bytes remain", what, (int)size, end - pos);
        return -1;
    }
    if (buf[pos + size - 1] != 0) {
        invalid("%s does not end with a NUL byte", what);
        return -1;
    }
    return size;
}

/* An embedded document: a dict (a DBRef when it follows the convention) or a raw one. */
static PyObject *
read_document(Decoder *d, Py_ssize_t pos, Py_ssize_t end, Py_ssize_t *next)
{
    Py_ssize_t size = container_size(d->buf, pos, end, "embedded document");
    if (size < 0) {
        return NULL;
    }
    *next = pos + size;
    if (d->raw_class != NULL) {
        PyObject *raw = PyBytes_FromStringAndSize((const char *)d->buf + pos, size);
        if (raw == NULL) {
            return NULL;
        }
        PyObject *doc = PyObject_CallFunctionObjArgs(d->raw_class, raw, d->opts, NULL);
        Py_DECREF(raw);
        return doc;
    }
    PyObject *doc = decode_elements(d, pos + 4, pos + size - 1);
    if (doc == NULL) {
        return NULL;
    }
    /* The DBRef convention is rare: the pure code decides what qualifies. */
    int has_ref = PyDict_Contains(doc, s_ref);
    if (has_ref < 0) {
        Py_DECREF(doc);
        return NULL;
    }
    if (has_ref) {
        Py_SETREF(doc, PyObject_CallOneArg(maybe_dbref, doc));
    }
    return doc;
}

static PyObject *
read_string(Decoder *d, Py_ssize_t pos, Py_ssize_t end, Py_ssize_t *next)
{
    if (end - pos < 4) {
        return invalid("string truncated: its length needs 4 bytes, %zd remain", end - pos);
    }
    int32_t length = get_i32(d->buf + pos);
    pos += 4;
    if (length < 1 || length > end - pos) {
        return invalid("invalid string length %d", (int)length);
    }
    if (d->buf[pos + length - 1] != 0) {
        return invalid("string does not end with a NUL byte");
    }
    *next = pos + length;
    return PyUnicode_DecodeUTF8((const char *)d->buf + pos, length - 1, NULL);
}

static PyObject *
new_object_id(const unsigned char *bytes)
{
    PyObject *binary = PyBytes_FromStringAndSize((const char *)bytes, 12);
    if (binary == NULL) {
        return NULL;
    }
    if (oid_slot == NULL) {
        PyObject *oid = PyObject_CallOneArg(oid_from_binary, binary);
        Py_DECREF(binary);
        return oid;
    }
    /* What _from_binary does (``cls.__new__(cls)``, then set the slot), without the
     * Python frame; module init checked that ObjectId inherits object's __new__ and
     * __setattr__, so this is the same object built the same way. */
    PyObject *oid = ObjectIdType->tp_new(ObjectIdType, empty_tuple, NULL);
    if (oid == NULL || Py_TYPE(oid_slot)->tp_descr_set(oid_slot, oid, binary) < 0) {
        Py_XDECREF(oid);
        oid = NULL;
    }
    Py_DECREF(binary);
    return oid;
}

/* The proleptic Gregorian date ``days`` after 1970-01-01 (Howard Hinnant's algorithm). */
static void
civil_from_days(int64_t days, int *year, int *month, int *day)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)(yoe + era * 400 + (*month <= 2));
}

/* datetime.datetime's range in milliseconds since the epoch (datetime_ms._MIN_MS/_MAX_MS). */
#define MIN_MILLIS (-62135596800000LL)
#define MAX_MILLIS 253402300799999LL

/* A naive datetime for the default options; NULL without an error set means "let the
 * pure reader decide" (other options, or outside datetime's range: its error). */
static PyObject *
read_naive_datetime(Decoder *d, const unsigned char *p)
{
    int64_t millis = get_i64(p);
    if (!d->naive_datetimes || millis < MIN_MILLIS || millis > MAX_MILLIS) {
        return NULL;
    }
    int64_t days = millis / 86400000, in_day = millis % 86400000;
    if (in_day < 0) {
        in_day += 86400000;
        days -= 1;
    }
    int year, month, day;
    civil_from_days(days, &year, &month, &day);
    return PyDateTimeAPI->DateTime_FromDateAndTime(
        year, month, day, (int)(in_day / 3600000), (int)(in_day / 60000 % 60),
        (int)(in_day / 1000 % 60), (int)(in_day % 1000) * 1000, Py_None,
        PyDateTimeAPI->DateTimeType);
}

/* Hand one value to the pure reader for its type: (value, new position). */
static PyObject *
call_reader(Decoder *d, PyObject *reader, Py_ssize_t pos, Py_ssize_t end, Py_ssize_t *next)
{
    PyObject *value = NULL, *result = NULL;
    PyObject *start = PyLong_FromSsize_t(pos);
    PyObject *stop = PyLong_FromSsize_t(end);
    if (start != NULL && stop != NULL) {
        PyObject *args[4] = {d->data, start, stop, d->opts};
        result = PyObject_Vectorcall(reader, args, 4, NULL);
    }
    Py_XDECREF(start);
    Py_XDECREF(stop);
    if (result == NULL) {
        return NULL;
    }
    if (!PyTuple_CheckExact(result) || PyTuple_GET_SIZE(result) != 2) {
        PyErr_SetString(PyExc_TypeError, "a BSON reader must return (value, position)");
        goto done;
    }
    Py_ssize_t after = PyLong_AsSsize_t(PyTuple_GET_ITEM(result, 1));
    if (after == -1 && PyErr_Occurred()) {
        goto done;
    }
    if (after < pos || after > end) {
        invalid("an element overruns the end of its document");
        goto done;
    }
    *next = after;
    value = PyTuple_GET_ITEM(result, 0);
    Py_INCREF(value);
done:
    Py_DECREF(result);
    return value;
}

/*
 * The value of type ``kind`` at ``pos``, which must end by ``end``; ``*next`` is set to
 * the position after it. The everyday types are read here, the rest by the pure
 * readers. ``key`` (NULL in arrays) only names the field in error messages.
 */
static PyObject *
read_value(Decoder *d, unsigned char kind, Py_ssize_t pos, Py_ssize_t end, Py_ssize_t *next,
           PyObject *key)
{
    const unsigned char *p = d->buf + pos;
    Py_ssize_t room = end - pos;
    switch (kind) {
    case 0x01: /* double */
        if (room < 8) {
            break;
        }
        *next = pos + 8;
        return PyFloat_FromDouble(get_f64(p));
    case 0x02: /* string */
        return read_string(d, pos, end, next);
    case 0x03: /* embedded document */
        return read_document(d, pos, end, next);
    case 0x04: /* array */
        return read_array(d, pos, end, next);
    case 0x05: { /* binary: subtype 0 is bytes; the others belong to the pure reader */
        if (room < 5) {
            break;
        }
        int32_t length = get_i32(p);
        if (p[4] != 0) {
            return call_reader(d, readers[kind], pos, end, next);
        }
        if (length < 0 || length > room - 5) {
            return invalid("invalid binary length %d: %zd bytes remain", (int)length, room - 5);
        }
        *next = pos + 5 + length;
        return PyBytes_FromStringAndSize((const char *)p + 5, length);
    }
    case 0x07: /* ObjectId */
        if (room < 12) {
            break;
        }
        *next = pos + 12;
        return new_object_id(p);
    case 0x09: { /* UTC datetime */
        if (room < 8) {
            break;
        }
        PyObject *value = read_naive_datetime(d, p);
        if (value != NULL || PyErr_Occurred()) {
            *next = pos + 8;
            return value;
        }
        return call_reader(d, readers[kind], pos, end, next);
    }
    case 0x08: /* boolean */
        if (room < 1) {
            break;
        }
        if (p[0] > 1) {
            if (key != NULL) {
                return invalid("invalid boolean value %d for key %R", (int)p[0], key);
            }
            return invalid("invalid boolean value %d", (int)p[0]);
        }
        *next = pos + 1;
        return Py_NewRef(p[0] ? Py_True : Py_False);
    case 0x0A: /* null */
        *next = pos;
        Py_RETURN_NONE;
    case 0x10: /* int32 */
        if (room < 4) {
            break;
        }
        *next = pos + 4;
        return PyLong_FromLong(get_i32(p));
    case 0x11: { /* timestamp: every server reply carries two ($clusterTime, operationTime) */
        if (room < 8) {
            break;
        }
        uint32_t increment = (uint32_t)get_i32(p), seconds = (uint32_t)get_i32(p + 4);
        *next = pos + 8;
        return PyObject_CallFunction(TimestampType, "kk", (unsigned long)seconds,
                                     (unsigned long)increment);
    }
    case 0x12: { /* int64, always as Int64 */
        if (room < 8) {
            break;
        }
        PyObject *number = PyLong_FromLongLong(get_i64(p));
        if (number == NULL) {
            return NULL;
        }
        *next = pos + 8;
        Py_SETREF(number, PyObject_CallOneArg(Int64Type, number));
        return number;
    }
    default:
        if (readers[kind] == NULL) {
            if (key != NULL) {
                return invalid("unknown BSON type 0x%02x for key %R", (int)kind, key);
            }
            return invalid("unknown BSON type 0x%02x in an array", (int)kind);
        }
        return call_reader(d, readers[kind], pos, end, next);
    }
    /* Only the fixed-width types get here, when their bytes run past the end. */
    if (key != NULL) {
        return invalid("value of type 0x%02x for key %R truncated: %zd bytes remain", (int)kind,
                       key, room);
    }
    return invalid("value of type 0x%02x in an array truncated: %zd bytes remain", (int)kind,
                   room);
}

/* The elements from ``pos`` to ``end`` (the index of the document's closing NUL). */
static PyObject *
decode_elements(Decoder *d, Py_ssize_t pos, Py_ssize_t end)
{
    if (enter_level(&d->nesting, " while decoding a BSON document")) {
        return NULL;
    }
    const unsigned char *buf = d->buf;
    PyObject *doc = PyDict_New();
    if (doc == NULL) {
        goto fail;
    }
    while (pos < end) {
        unsigned char kind = buf[pos];
        const unsigned char *name = buf + pos + 1;
        const unsigned char *nul = memchr(name, 0, (size_t)(end - pos - 1));
        if (nul == NULL) {
            invalid("field name is not NUL-terminated inside its document");
            goto fail;
        }
        PyObject *key = PyUnicode_DecodeUTF8((const char *)name, nul - name, NULL);
        if (key == NULL) {
            goto fail;
        }
        pos = (nul - buf) + 1;
        PyObject *value = read_value(d, kind, pos, end, &pos, key);
        if (value == NULL) {
            Py_DECREF(key);
            goto fail;
        }
        int failed = PyDict_SetItem(doc, key, value);
        Py_DECREF(key);
        Py_DECREF(value);
        if (failed) {
            goto fail;
        }
    }
    leave_level(&d->nesting);
    return doc;

fail:
    leave_level(&d->nesting);
    Py_XDECREF(doc);
    return NULL;
}

static PyObject *
read_array(Decoder *d, Py_ssize_t pos, Py_ssize_t end, Py_ssize_t *next)
{
    Py_ssize_t size = container_size(d->buf, pos, end, "array");
    if (size < 0) {
        return NULL;
    }
    if (enter_level(&d->nesting, " while decoding a BSON array")) {
        return NULL;
    }
    const unsigned char *buf = d->buf;
    Py_ssize_t inner_end = pos + size - 1;
    PyObject *values = PyList_New(0);
    if (values == NULL) {
        goto fail;
    }
    pos += 4;
    while (pos < inner_end) {
        unsigned char kind = buf[pos];
        /* Array keys are "0", "1", ... by convention; like the pure decoder (and every
         * driver), skip them unread. */
        const unsigned char *nul = memchr(buf + pos + 1, 0, (size_t)(inner_end - pos - 1));
        if (nul == NULL) {
            invalid("array index is not NUL-terminated inside its array");
            goto fail;
        }
        pos = (nul - buf) + 1;
        PyObject *value = read_value(d, kind, pos, inner_end, &pos, NULL);
        if (value == NULL) {
            goto fail;
        }
        int failed = PyList_Append(values, value);
        Py_DECREF(value);
        if (failed) {
            goto fail;
        }
    }
    leave_level(&d->nesting);
    *next = inner_end + 1;
    return values;

fail:
    leave_level(&d->nesting);
    Py_XDECREF(values);
    return NULL;
}

/*
 * Parse (data, position, end, opts) as the pure decode_document takes them. 1 when C
 * can decode them (data a bytes object, a usable mode, 0 <= position <= end <=
 * len(data)); 0 when the pure function should get the call unchanged; -1 on error.
 */
static int
prepare(PyObject *const *args, Decoder *d, Py_ssize_t *position, Py_ssize_t *end)
{
    d->data = args[0];
    d->opts = args[3];
    const OptionsVerdict *verdict = judge_options(d->opts);
    if (verdict == NULL) {
        return -1;
    }
    if (verdict->mode == MODE_PURE || !PyBytes_Check(d->data)) {
        return 0;
    }
    d->buf = (const unsigned char *)PyBytes_AS_STRING(d->data);
    d->raw_class = verdict->mode == MODE_RAW ? verdict->document_class : NULL;
    d->naive_datetimes = verdict->naive_datetimes;
    d->nesting = new_nesting();
    if (!PyLong_CheckExact(args[1]) || !PyLong_CheckExact(args[2])) {
        return 0;
    }
    *position = PyLong_AsSsize_t(args[1]);
    *end = PyLong_AsSsize_t(args[2]);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (*position < 0 || *end < *position || *end > PyBytes_GET_SIZE(d->data)) {
        return 0;
    }
    return 1;
}

PyDoc_STRVAR(decode_document_doc,
"decode_document(data, position, end, opts)\n--\n\n"
"Decode the document spanning ``data[position:end]`` exactly (the pure decoder's\n"
"contract). Any failure inside becomes InvalidBSON.");

static PyObject *
cbson_decode_document(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Decoder d;
    Py_ssize_t position = 0, end = 0;
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "decode_document() takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    int ready = prepare(args, &d, &position, &end);
    if (ready <= 0) {
        return ready < 0 ? NULL : PyObject_Vectorcall(pure_decode_document, args, 4, NULL);
    }
    PyObject *result = NULL;
    Py_ssize_t size = container_size(d.buf, position, end, "document");
    if (size < 0) {
        goto done;
    }
    if (size != end - position) {
        invalid("document length %zd does not match the %zd bytes given", size, end - position);
        goto done;
    }
    if (d.raw_class != NULL) {
        PyObject *raw = PyBytes_FromStringAndSize((const char *)d.buf + position, size);
        if (raw != NULL) {
            result = PyObject_CallFunctionObjArgs(d.raw_class, raw, d.opts, NULL);
            Py_DECREF(raw);
        }
        goto done;
    }
    result = decode_elements(&d, position + 4, end - 1);
done:
    if (result == NULL) {
        as_invalid_bson();
    }
    return result;
}

PyDoc_STRVAR(inflate_raw_doc,
"inflate_raw(data, opts)\n--\n\n"
"The top-level fields of an already size-checked raw document, as a dict.");

static PyObject *
cbson_inflate_raw(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "inflate_raw() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    Decoder d;
    d.data = args[0];
    d.opts = args[1];
    const OptionsVerdict *verdict = judge_options(d.opts);
    if (verdict == NULL) {
        return NULL;
    }
    /* Under 5 bytes the pure code has its own view of what went wrong. */
    if (verdict->mode == MODE_PURE || !PyBytes_Check(d.data) || PyBytes_GET_SIZE(d.data) < 5) {
        return PyObject_Vectorcall(pure_inflate_raw, args, 2, NULL);
    }
    d.buf = (const unsigned char *)PyBytes_AS_STRING(d.data);
    d.raw_class = verdict->mode == MODE_RAW ? verdict->document_class : NULL;
    d.naive_datetimes = verdict->naive_datetimes;
    d.nesting = new_nesting();
    PyObject *result = decode_elements(&d, 4, PyBytes_GET_SIZE(d.data) - 1);
    if (result == NULL) {
        as_invalid_bson();
    }
    return result;
}

/* ------------------------------------------------------------------------------------
 * Encoding.
 *
 * Exact dicts at the top; inside them the exact types below are written here, and any
 * other value goes to the pure encoder's own writer for its type (``_WRITERS``, else
 * ``_find_writer``), which appends to a scratch bytearray that is then copied in. The
 * pure writers place their lengths relative to where they start, so an empty scratch
 * buffer gives the same bytes as the pure encoder's single buffer. Errors are raised as
 * the pure encoder raises them (same types, same messages), checked in the same order.
 */

static PyObject *writers;            /* _encoder._WRITERS: exact type -> writer */
static PyObject *find_writer;        /* _encoder._find_writer(value, opts) -> (writer, value) */
static PyObject *key_names;          /* _encoder._KEY_NAMES: the pure encoder's name cache */
static PyObject *remember_key;       /* _encoder._remember_key(key) -> name + NUL */
static PyObject *key_bytes;          /* _encoder._key_bytes(key, check_keys) -> name */
static PyObject *find_cycle;         /* _encoder._find_cycle(document) -> bool */
static PyObject *StructError;        /* struct.error */
static PyObject *s_id;               /* "_id" */

typedef struct {
    char *data;
    Py_ssize_t len;
    Py_ssize_t cap;
} Buffer;

typedef struct {
    Buffer out;
    PyObject *check_keys;            /* Py_True or Py_False, passed on to pure writers */
    int checking;
    PyObject *opts;
    Nesting nesting;
} Encoder;

static int
reserve(Buffer *b, Py_ssize_t extra)
{
    if (extra <= b->cap - b->len) {
        return 0;
    }
    if (extra > PY_SSIZE_T_MAX - b->len) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t need = b->len + extra;
    Py_ssize_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        cap = cap > PY_SSIZE_T_MAX / 2 ? need : cap * 2;
    }
    char *grown = PyMem_Realloc(b->data, (size_t)cap);
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = grown;
    b->cap = cap;
    return 0;
}

static int
put(Buffer *b, const void *bytes, Py_ssize_t n)
{
    if (reserve(b, n) < 0) {
        return -1;
    }
    memcpy(b->data + b->len, bytes, (size_t)n);
    b->len += n;
    return 0;
}

static int
put_byte(Buffer *b, unsigned char byte)
{
    return put(b, &byte, 1);
}

static void
set_i32(char *at, int32_t value)
{
    uint32_t v = (uint32_t)value;
    for (int i = 0; i < 4; i++) {
        at[i] = (char)(v >> (8 * i));
    }
}

static int
put_i32(Buffer *b, int32_t value)
{
    char bytes[4];
    set_i32(bytes, value);
    return put(b, bytes, 4);
}

static int
put_i64(Buffer *b, int64_t value)
{
    char bytes[8];
    uint64_t v = (uint64_t)value;
    for (int i = 0; i < 8; i++) {
        bytes[i] = (char)(v >> (8 * i));
    }
    return put(b, bytes, 8);
}

static int
put_f64(Buffer *b, double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return put_i64(b, (int64_t)bits);
}

/* Where the pure encoder's struct.pack of a length would fail. */
static int
too_large(void)
{
    PyErr_SetString(DocumentTooLarge, "document is over the BSON format's 2 GiB limit");
    return -1;
}

/* The element type byte and its name (``name_len`` bytes, NUL excluded). */
static int
put_header(Buffer *b, unsigned char kind, const char *name, Py_ssize_t name_len)
{
    if (reserve(b, name_len + 2) < 0) {
        return -1;
    }
    b->data[b->len++] = (char)kind;
    memcpy(b->data + b->len, name, (size_t)name_len);
    b->len += name_len;
    b->data[b->len++] = 0;
    return 0;
}

/* "string %r cannot be encoded as UTF-8: %s" and the like, from the pending error. */
static void
raise_from_unicode_error(PyObject *error_type, const char *format, PyObject *value)
{
    PyObject *exc = take_exception();
    PyErr_Format(error_type, format, value, exc);
    Py_XDECREF(exc);
}

/*
 * The encoded name of a document key, NUL excluded, as the pure encoder makes it.
 * ``*holder`` receives a new reference that keeps ``*name`` alive (or NULL when the
 * key itself does).
 */
static int
key_name(Encoder *e, PyObject *key, const char **name, Py_ssize_t *len, PyObject **holder)
{
    *holder = NULL;
    if (!PyUnicode_CheckExact(key)) {
        /* Exotic keys (str subclasses, or not str at all, an error) take the pure
         * path, cache lookup included, so hashing and errors are exactly its own. */
        PyObject *bytes;
        if (e->checking) {
            PyObject *args[2] = {key, Py_True};
            PyObject *bare = PyObject_Vectorcall(key_bytes, args, 2, NULL);
            if (bare == NULL) {
                return -1;
            }
            if (!PyBytes_Check(bare)) {
                Py_DECREF(bare);
                PyErr_SetString(PyExc_TypeError, "_key_bytes must return bytes");
                return -1;
            }
            *holder = bare;
            *name = PyBytes_AS_STRING(bare);
            *len = PyBytes_GET_SIZE(bare);
            return 0;
        }
        bytes = PyDict_GetItemWithError(key_names, key);
        if (bytes != NULL) {
            Py_INCREF(bytes);
        }
        else if (PyErr_Occurred() ||
                 (bytes = PyObject_CallOneArg(remember_key, key)) == NULL) {
            return -1;
        }
        if (!PyBytes_Check(bytes) || PyBytes_GET_SIZE(bytes) < 1) {
            Py_DECREF(bytes);
            PyErr_SetString(PyExc_TypeError, "encoded key names must be bytes ending in NUL");
            return -1;
        }
        *holder = bytes;
        *name = PyBytes_AS_STRING(bytes);
        *len = PyBytes_GET_SIZE(bytes) - 1;
        return 0;
    }
    /* UTF-8 contains the ASCII '\0', '$' and '.' exactly where the str has them, so the
     * checks can run on the bytes; the str is only searched when encoding fails, to
     * report what the pure encoder reports first. */
    const char *utf8 = PyUnicode_AsUTF8AndSize(key, len);
    if (utf8 == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
            return -1;
        }
        PyObject *cause = take_exception();
        Py_ssize_t n = PyUnicode_GET_LENGTH(key);
        if (PyUnicode_FindChar(key, 0, 0, n, 1) >= 0) {
            PyErr_Format(InvalidDocument, "key %R must not contain the NUL character", key);
        }
        else if (e->checking && n > 0 && PyUnicode_READ_CHAR(key, 0) == '$') {
            PyErr_Format(InvalidDocument, "key %R must not start with '$'", key);
        }
        else if (e->checking && PyUnicode_FindChar(key, '.', 0, n, 1) >= 0) {
            PyErr_Format(InvalidDocument, "key %R must not contain '.'", key);
        }
        else {
            PyErr_Format(InvalidStringData, "key %R is not valid UTF-8: %S", key, cause);
        }
        Py_DECREF(cause);
        return -1;
    }
    if (memchr(utf8, 0, (size_t)*len) != NULL) {
        PyErr_Format(InvalidDocument, "key %R must not contain the NUL character", key);
        return -1;
    }
    if (e->checking) {
        if (*len > 0 && utf8[0] == '$') {
            PyErr_Format(InvalidDocument, "key %R must not start with '$'", key);
            return -1;
        }
        if (memchr(utf8, '.', (size_t)*len) != NULL) {
            PyErr_Format(InvalidDocument, "key %R must not contain '.'", key);
            return -1;
        }
    }
    *name = utf8;
    return 0;
}

static int write_value(Encoder *e, const char *name, Py_ssize_t name_len, PyObject *value);

/* A length-prefixed document or array body: reserve, write, patch. */
static int
open_container(Encoder *e, unsigned char kind, const char *name, Py_ssize_t name_len,
               Py_ssize_t *start)
{
    if (put_header(&e->out, kind, name, name_len) < 0) {
        return -1;
    }
    *start = e->out.len;
    return put_i32(&e->out, 0);
}

static int
close_container(Encoder *e, Py_ssize_t start)
{
    if (put_byte(&e->out, 0) < 0) {
        return -1;
    }
    Py_ssize_t size = e->out.len - start;
    if (size > INT32_MAX) {
        return too_large();
    }
    set_i32(e->out.data + start, (int32_t)size);
    return 0;
}

/* One key/value pair of a dict; ``key`` and ``value`` are owned by the caller. */
static int
write_pair(Encoder *e, PyObject *key, PyObject *value)
{
    const char *name;
    Py_ssize_t name_len;
    PyObject *holder;
    if (key_name(e, key, &name, &name_len, &holder) < 0) {
        return -1;
    }
    int result = write_value(e, name, name_len, value);
    Py_XDECREF(holder);
    return result;
}

/*
 * The elements of an exact dict. ``skip_id`` leaves out the keys equal to "_id" (the
 * top level writes _id first). Python code can run in between (a pure writer, a key's
 * __eq__), so each pair is held while it is written and a resize is refused, as the
 * dict iterator the pure encoder uses refuses it.
 */
static int
write_dict_body(Encoder *e, PyObject *dict, int skip_id)
{
    Py_ssize_t i = 0, size = PyDict_GET_SIZE(dict);
    PyObject *key, *value;
    while (PyDict_Next(dict, &i, &key, &value)) {
        Py_INCREF(key);
        Py_INCREF(value);
        int failed = 0;
        int skip = 0;
        if (skip_id) {
            /* The pure filter is ``k != "_id"``; exotic keys get that very test. */
            int differs = PyUnicode_CheckExact(key) ? PyUnicode_Compare(key, s_id) != 0
                                                    : PyObject_RichCompareBool(key, s_id, Py_NE);
            failed = differs < 0;
            skip = differs == 0;
        }
        if (!failed && !skip) {
            failed = write_pair(e, key, value) < 0;
        }
        Py_DECREF(key);
        Py_DECREF(value);
        if (failed) {
            return -1;
        }
        if (PyDict_GET_SIZE(dict) != size) {
            PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
            return -1;
        }
    }
    return 0;
}

static int
write_dict(Encoder *e, const char *name, Py_ssize_t name_len, PyObject *dict)
{
    Py_ssize_t start;
    if (enter_level(&e->nesting, " while encoding a BSON document")) {
        return -1;
    }
    int result = -1;
    if (open_container(e, 0x03, name, name_len, &start) == 0 &&
        write_dict_body(e, dict, 0) == 0) {
        result = close_container(e, start);
    }
    leave_level(&e->nesting);
    return result;
}

/* A list or tuple; a list is re-measured at each step, as its iterator does. */
static int
write_sequence(Encoder *e, const char *name, Py_ssize_t name_len, PyObject *seq)
{
    Py_ssize_t start;
    char index[24];
    if (enter_level(&e->nesting, " while encoding a BSON array")) {
        return -1;
    }
    int result = -1;
    if (open_container(e, 0x04, name, name_len, &start) < 0) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        int n = snprintf(index, sizeof index, "%zd", i);
        Py_INCREF(item);
        int failed = write_value(e, index, n, item);
        Py_DECREF(item);
        if (failed) {
            goto done;
        }
    }
    result = close_container(e, start);
done:
    leave_level(&e->nesting);
    return result;
}

static int
write_string(Encoder *e, const char *name, Py_ssize_t name_len, PyObject *value)
{
    PyObject *encoded = NULL;
    const char *utf8;
    Py_ssize_t len;
    if (PyUnicode_IS_COMPACT_ASCII(value)) {
        utf8 = (const char *)PyUnicode_DATA(value);
        len = PyUnicode_GET_LENGTH(value);
    }
    else {
        /* A temporary copy, not PyUnicode_AsUTF8: that would keep a UTF-8 copy of every
         * non-ASCII string value alive for as long as the string. */
        encoded = PyUnicode_AsUTF8String(value);
        if (encoded == NULL) {
            if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
                raise_from_unicode_error(InvalidStringData,
                                         "string %R cannot be encoded as UTF-8: %S", value);
            }
            return -1;
        }
        utf8 = PyBytes_AS_STRING(encoded);
        len = PyBytes_GET_SIZE(encoded);
    }
    int result = -1;
    if (len >= INT32_MAX) {
        too_large();
    }
    else if (put_header(&e->out, 0x02, name, name_len) == 0 &&
             put_i32(&e->out, (int32_t)(len + 1)) == 0 && put(&e->out, utf8, len) == 0) {
        result = put_byte(&e->out, 0);
    }
    Py_XDECREF(encoded);
    return result;
}

static int
write_int(Encoder *e, const char *name, Py_ssize_t name_len, PyObject *value, int is_int64)
{
    int overflow;
    long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (number == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow) {
        if (is_int64) {
            /* f"{int(value)}": the plain int, not Int64's repr. */
            PyObject *plain = PyNumber_Long(value);
            if (plain != NULL) {
                PyErr_Format(PyExc_OverflowError,
                             "BSON can only store up to 8-byte ints, got %S", plain);
                Py_DECREF(plain);
            }
            return -1;
        }
        PyErr_Format(PyExc_OverflowError, "BSON can only store up to 8-byte ints, got %S",
                     value);
        return -1;
    }
    if (!is_int64 && number >= INT32_MIN && number <= INT32_MAX) {
        if (put_header(&e->out, 0x10, name, name_len) < 0) {
            return -1;
        }
        return put_i32(&e->out, (int32_t)number);
    }
    if (put_header(&e->out, 0x12, name, name_len) < 0) {
        return -1;
    }
    return put_i64(&e->out, (int64_t)number);
}

static int
write_bytes(Encoder *e, const char *name, Py_ssize_t name_len, PyObject *value)
{
    Py_ssize_t len = PyBytes_GET_SIZE(value);
    if (len > INT32_MAX) {
        return too_large();
    }
    if (put_header(&e->out, 0x05, name, name_len) < 0 || put_i32(&e->out, (int32_t)len) < 0 ||
        put_byte(&e->out, 0) < 0) {
        return -1;
    }
    return put(&e->out, PyBytes_AS_STRING(value), len);
}

/* Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* A naive datetime, taken as UTC; milliseconds rounded down, as datetime_to_millis. */
static int
write_naive_datetime(Encoder *e, const char *name, Py_ssize_t name_len, PyObject *value)
{
    int64_t days = days_from_civil(PyDateTime_GET_YEAR(value), PyDateTime_GET_MONTH(value),
                                   PyDateTime_GET_DAY(value));
    int64_t millis = days * 86400000 + PyDateTime_DATE_GET_HOUR(value) * 3600000LL +
                     PyDateTime_DATE_GET_MINUTE(value) * 60000LL +
                     PyDateTime_DATE_GET_SECOND(value) * 1000LL +
                     PyDateTime_DATE_GET_MICROSECOND(value) / 1000;
    if (put_header(&e->out, 0x09, name, name_len) < 0) {
        return -1;
    }
    return put_i64(&e->out, millis);
}

static int
write_object_id(Encoder *e, const char *name, Py_ssize_t name_len, PyObject *value)
{
    /* ``value.binary`` is that slot; module init checked the descriptor. */
    PyObject *binary = Py_TYPE(oid_slot)->tp_descr_get(oid_slot, value, (PyObject *)ObjectIdType);
    if (binary == NULL) {
        return -1;
    }
    int result = -1;
    if (!PyBytes_Check(binary)) {
        PyErr_Format(PyExc_TypeError, "can't concat %s to bytes", Py_TYPE(binary)->tp_name);
    }
    else if (put_header(&e->out, 0x07, name, name_len) == 0) {
        result = put(&e->out, PyBytes_AS_STRING(binary), PyBytes_GET_SIZE(binary));
    }
    Py_DECREF(binary);
    return result;
}

/* Any other value: the pure encoder's writer for it, into a scratch bytearray. */
static int
write_with_pure(Encoder *e, const char *name, Py_ssize_t name_len, PyObject *value)
{
    PyObject *writer = NULL, *scratch = NULL, *name_bytes = NULL, *result = NULL;
    int status = -1;
    Py_INCREF(value);
    writer = PyDict_GetItemWithError(writers, (PyObject *)Py_TYPE(value));
    if (writer != NULL) {
        Py_INCREF(writer);
    }
    else if (PyErr_Occurred()) {
        goto done;
    }
    else {
        PyObject *args[2] = {value, e->opts};
        PyObject *pair = PyObject_Vectorcall(find_writer, args, 2, NULL);
        if (pair == NULL) {
            goto done;
        }
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2) {
            Py_DECREF(pair);
            PyErr_SetString(PyExc_TypeError, "_find_writer must return (writer, value)");
            goto done;
        }
        writer = Py_NewRef(PyTuple_GET_ITEM(pair, 0));
        Py_SETREF(value, Py_NewRef(PyTuple_GET_ITEM(pair, 1)));
        Py_DECREF(pair);
    }
    scratch = PyByteArray_FromStringAndSize(NULL, 0);
    name_bytes = PyBytes_FromStringAndSize(NULL, name_len + 1);
    if (scratch == NULL || name_bytes == NULL) {
        goto done;
    }
    memcpy(PyBytes_AS_STRING(name_bytes), name, (size_t)name_len);
    PyBytes_AS_STRING(name_bytes)[name_len] = 0;
    {
        PyObject *args[5] = {scratch, name_bytes, value, e->check_keys, e->opts};
        result = PyObject_Vectorcall(writer, args, 5, NULL);
    }
    if (result == NULL) {
        goto done;
    }
    status = put(&e->out, PyByteArray_AS_STRING(scratch), PyByteArray_GET_SIZE(scratch));
done:
    Py_XDECREF(result);
    Py_XDECREF(name_bytes);
    Py_XDECREF(scratch);
    Py_XDECREF(writer);
    Py_DECREF(value);
    return status;
}

/* The pure encoder's order: its inline exact types, then its table (which has the
 * exact tuple, bytes and datetime writers these match), then everything else. */
static int
write_value(Encoder *e, const char *name, Py_ssize_t name_len, PyObject *value)
{
    PyTypeObject *type = Py_TYPE(value);
    if (type == &PyUnicode_Type) {
        return write_string(e, name, name_len, value);
    }
    if (type == &PyLong_Type) {
        return write_int(e, name, name_len, value, 0);
    }
    if (type == &PyDict_Type) {
        return write_dict(e, name, name_len, value);
    }
    if (type == &PyFloat_Type) {
        if (put_header(&e->out, 0x01, name, name_len) < 0) {
            return -1;
        }
        return put_f64(&e->out, PyFloat_AS_DOUBLE(value));
    }
    if (type == &PyList_Type || type == &PyTuple_Type) {
        return write_sequence(e, name, name_len, value);
    }
    if (type == &PyBool_Type) {
        if (put_header(&e->out, 0x08, name, name_len) < 0) {
            return -1;
        }
        return put_byte(&e->out, value == Py_True);
    }
    if (value == Py_None) {
        return put_header(&e->out, 0x0A, name, name_len);
    }
    if (type == ObjectIdType && oid_slot != NULL) {
        return write_object_id(e, name, name_len, value);
    }
    if ((PyObject *)type == Int64Type) {
        return write_int(e, name, name_len, value, 1);
    }
    if (type == &PyBytes_Type) {
        return write_bytes(e, name, name_len, value);
    }
    if (type == PyDateTimeAPI->DateTimeType && PyDateTime_DATE_GET_TZINFO(value) == Py_None) {
        return write_naive_datetime(e, name, name_len, value);
    }
    return write_with_pure(e, name, name_len, value);
}

/* The top level: _id first when present and not already first, as the pure encoder. */
static int
write_top(Encoder *e, PyObject *document)
{
    int has_id = PyDict_Contains(document, s_id);
    if (has_id < 0) {
        return -1;
    }
    if (has_id) {
        Py_ssize_t i = 0;
        PyObject *first, *unused;
        int id_first = 0;
        if (PyDict_Next(document, &i, &first, &unused)) {
            Py_INCREF(first);
            id_first = PyUnicode_CheckExact(first) ? PyUnicode_Compare(first, s_id) == 0
                                                   : !PyObject_RichCompareBool(first, s_id, Py_NE);
            Py_DECREF(first);
            if (PyErr_Occurred()) {
                return -1;
            }
        }
        if (!id_first) {
            PyObject *id_value = PyDict_GetItemWithError(document, s_id);
            if (id_value == NULL) {
                if (!PyErr_Occurred()) {
                    PyErr_SetObject(PyExc_KeyError, s_id);
                }
                return -1;
            }
            Py_INCREF(id_value);
            int failed = write_pair(e, s_id, id_value);
            Py_DECREF(id_value);
            if (failed < 0) {
                return -1;
            }
            return write_dict_body(e, document, 1);
        }
    }
    return write_dict_body(e, document, 0);
}

/* After a failed encode: the error the pure encode_document would have raised. */
static void
encode_error(PyObject *document)
{
    if (PyErr_ExceptionMatches(StructError)) {
        PyErr_Clear();
        too_large();
        return;
    }
    if (!PyErr_ExceptionMatches(PyExc_RecursionError)) {
        return;
    }
    PyErr_Clear();
    PyObject *cyclic = PyObject_CallOneArg(find_cycle, document);
    if (cyclic == NULL) {
        return;
    }
    int is_cyclic = PyObject_IsTrue(cyclic);
    Py_DECREF(cyclic);
    if (is_cyclic < 0) {
        return;
    }
    PyErr_SetString(InvalidDocument,
                    is_cyclic ? "cannot encode a cyclic document: it contains itself"
                              : "document is nested too deeply to encode (Python's recursion limit)");
}

PyDoc_STRVAR(encode_document_doc,
"encode_document(document, check_keys, opts, max_size=MAX_BSON_SIZE)\n--\n\n"
"Encode one top-level document; ``_id`` goes first when present (the pure\n"
"encoder's contract).");

static PyObject *
cbson_encode_document(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 3 || nargs > 4) {
        PyErr_Format(PyExc_TypeError, "encode_document() takes 3 or 4 arguments (%zd given)",
                     nargs);
        return NULL;
    }
    PyObject *document = args[0], *check_keys = args[1];
    Py_ssize_t max_size = INT32_MAX;
    /* Only plain dicts with a bool check_keys and an int limit are taken here; the pure
     * encoder gets anything else untouched, before any work or side effect. */
    int plain = PyDict_CheckExact(document) && PyBool_Check(check_keys);
    if (plain && nargs == 4) {
        plain = PyLong_CheckExact(args[3]);
        if (plain) {
            max_size = PyLong_AsSsize_t(args[3]);
            if (max_size == -1 && PyErr_Occurred()) {
                PyErr_Clear();
                plain = 0;
            }
        }
    }
    if (!plain) {
        return PyObject_Vectorcall(pure_encode_document, args, (size_t)nargs, NULL);
    }
    Encoder e = {{NULL, 0, 0}, check_keys, check_keys == Py_True, args[2], new_nesting()};
    PyObject *result = NULL;
    if (put_i32(&e.out, 0) < 0) {
        goto done;
    }
    if (write_top(&e, document) < 0) {
        encode_error(document);
        goto done;
    }
    if (put_byte(&e.out, 0) < 0) {
        goto done;
    }
    if (e.out.len > INT32_MAX) {
        /* The pure encoder packs the top-level length outside its struct.error handler,
         * so a document over 2 GiB raises struct.error there; same here. */
        PyErr_SetString(StructError, "'i' format requires -2147483648 <= number <= 2147483647");
        goto done;
    }
    set_i32(e.out.data, (int32_t)e.out.len);
    if (e.out.len > max_size) {
        PyErr_Format(DocumentTooLarge,
                     "document is %zd bytes encoded, over the limit of %zd bytes", e.out.len,
                     max_size);
        goto done;
    }
    result = PyBytes_FromStringAndSize(e.out.data, e.out.len);
done:
    PyMem_Free(e.out.data);
    return result;
}

/* ------------------------------------------------------------------------------------
 * Module.
 */

static PyMethodDef cbson_methods[] = {
    {"decode_document", (PyCFunction)(void (*)(void))cbson_decode_document, METH_FASTCALL,
     decode_document_doc},
    {"inflate_raw", (PyCFunction)(void (*)(void))cbson_inflate_raw, METH_FASTCALL,
     inflate_raw_doc},
    {"encode_document", (PyCFunction)(void (*)(void))cbson_encode_document, METH_FASTCALL,
     encode_document_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cbson_module = {
    PyModuleDef_HEAD_INIT,
    "driver.bson._cbson",
    "C accelerator for driver.bson (the pure-Python codec stays the reference).",
    -1,
    cbson_methods,
};

static PyObject *
import_attr(const char *module_name, const char *attr)
{
    PyObject *module = PyImport_ImportModule(module_name);
    if (module == NULL) {
        return NULL;
    }
    PyObject *value = PyObject_GetAttrString(module, attr);
    Py_DECREF(module);
    return value;
}

/* Copy _decoder._READERS (int -> callable) into the 256-entry table. */
static int
load_readers(void)
{
    PyObject *table = import_attr("driver.bson._decoder", "_READERS");
    if (table == NULL) {
        return -1;
    }
    if (!PyDict_Check(table)) {
        PyErr_SetString(PyExc_TypeError, "driver.bson._decoder._READERS must be a dict");
        Py_DECREF(table);
        return -1;
    }
    PyObject *key, *reader;
    Py_ssize_t i = 0;
    while (PyDict_Next(table, &i, &key, &reader)) {
        long kind = PyLong_AsLong(key);
        if (kind < 0 || kind > 255) {
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_ValueError, "bad BSON type %R in _READERS", key);
            }
            Py_DECREF(table);
            return -1;
        }
        Py_INCREF(reader);
        Py_XSETREF(readers[kind], reader);
    }
    Py_DECREF(table);
    /* read_value hands these two over for the cases it leaves to Python. */
    if (readers[0x05] == NULL || readers[0x09] == NULL) {
        PyErr_SetString(PyExc_ValueError, "_READERS lacks the binary or datetime reader");
        return -1;
    }
    return 0;
}

/*
 * The ObjectId slot descriptor, when building an ObjectId by hand is exactly what
 * ObjectId._from_binary does: object's own __new__ and __setattr__, and __id a plain
 * member slot. Otherwise NULL, and the decoder calls _from_binary itself.
 */
static int
load_object_id(void)
{
    PyObject *type = import_attr("driver.bson.objectid", "ObjectId");
    if (type == NULL) {
        return -1;
    }
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "driver.bson.objectid.ObjectId must be a class");
        Py_DECREF(type);
        return -1;
    }
    ObjectIdType = (PyTypeObject *)type;
    oid_from_binary = PyObject_GetAttrString(type, "_from_binary");
    if (oid_from_binary == NULL) {
        return -1;
    }
    PyObject *slot = PyObject_GetAttrString(type, "_ObjectId__id");
    if (slot == NULL) {
        PyErr_Clear();
        return 0;
    }
    if (Py_IS_TYPE(slot, &PyMemberDescr_Type) && Py_TYPE(slot)->tp_descr_set != NULL &&
        ObjectIdType->tp_new == PyBaseObject_Type.tp_new &&
        ObjectIdType->tp_setattro == PyBaseObject_Type.tp_setattro) {
        oid_slot = slot;
    }
    else {
        Py_DECREF(slot);
    }
    return 0;
}

#define INTERN(var, text)                                 \
    do {                                                  \
        if (((var) = PyUnicode_InternFromString(text)) == NULL) { \
            goto fail;                                    \
        }                                                 \
    } while (0)

#define IMPORT(var, module_name, attr)                    \
    do {                                                  \
        if (((var) = import_attr(module_name, attr)) == NULL) { \
            goto fail;                                    \
        }                                                 \
    } while (0)

PyMODINIT_FUNC
PyInit__cbson(void)
{
    PyObject *module = PyModule_Create(&cbson_module);
    if (module == NULL) {
        return NULL;
    }
    INTERN(s_ref, "$ref");
    INTERN(s_plain_dict, "_plain_dict");
    INTERN(s_raw_class, "_raw_class");
    INTERN(s_decoders, "_decoders");
    INTERN(s_handler, "unicode_decode_error_handler");
    INTERN(s_document_class, "document_class");
    INTERN(s_strict, "strict");
    INTERN(s_tz_aware, "tz_aware");
    INTERN(s_datetime_conversion, "datetime_conversion");
    if ((empty_tuple = PyTuple_New(0)) == NULL) {
        goto fail;
    }
    IMPORT(InvalidBSON, "driver.errors", "InvalidBSON");
    IMPORT(InvalidDocument, "driver.errors", "InvalidDocument");
    IMPORT(InvalidStringData, "driver.errors", "InvalidStringData");
    IMPORT(DocumentTooLarge, "driver.errors", "DocumentTooLarge");
    IMPORT(Int64Type, "driver.bson.int64", "Int64");
    IMPORT(TimestampType, "driver.bson.timestamp", "Timestamp");
    IMPORT(CodecOptionsType, "driver.bson.codec_options", "CodecOptions");
    {
        PyObject *conversions = import_attr("driver.bson.datetime_ms", "DatetimeConversion");
        if (conversions == NULL) {
            goto fail;
        }
        conversion_datetime = PyObject_GetAttrString(conversions, "DATETIME");
        Py_DECREF(conversions);
        if (conversion_datetime == NULL) {
            goto fail;
        }
    }
    IMPORT(maybe_dbref, "driver.bson._decoder", "_maybe_dbref");
    IMPORT(pure_decode_document, "driver.bson._decoder", "decode_document");
    IMPORT(pure_inflate_raw, "driver.bson._decoder", "inflate_raw");
    IMPORT(pure_encode_document, "driver.bson._encoder", "encode_document");
    INTERN(s_id, "_id");
    IMPORT(writers, "driver.bson._encoder", "_WRITERS");
    IMPORT(find_writer, "driver.bson._encoder", "_find_writer");
    IMPORT(key_names, "driver.bson._encoder", "_KEY_NAMES");
    IMPORT(remember_key, "driver.bson._encoder", "_remember_key");
    IMPORT(key_bytes, "driver.bson._encoder", "_key_bytes");
    IMPORT(find_cycle, "driver.bson._encoder", "_find_cycle");
    IMPORT(StructError, "struct", "error");
    if (!PyDict_Check(writers) || !PyDict_Check(key_names)) {
        PyErr_SetString(PyExc_TypeError, "_encoder._WRITERS and _KEY_NAMES must be dicts");
        goto fail;
    }
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) {
        goto fail;
    }
    if (load_readers() < 0 || load_object_id() < 0) {
        goto fail;
    }
    return module;

fail:
    Py_DECREF(module);
    return NULL;
}
