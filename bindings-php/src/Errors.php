<?php
declare(strict_types=1);

namespace Convtrack;

/** The one mapping from status codes (include/convtrack_php.h) to exception classes. */
final class Errors
{
    public const OK = 0;
    public const DROPPED = 1;

    /** @var array<int, class-string<ConvtrackException>> */
    public const CLASSES = [
        100 => InternalException::class,      // NULL_POINTER: a binding bug, never the caller's input
        101 => InvalidUtf8Exception::class,
        102 => ArgumentException::class,
        200 => InvalidJsonException::class,
        201 => UnknownFieldException::class,
        202 => WrongTypeException::class,
        203 => MissingFieldException::class,
        204 => InvalidValueException::class,
        205 => TooLargeException::class,
        206 => EventTimeException::class,
        300 => SettingsException::class,
        400 => StorageException::class,
        401 => NotConfiguredException::class,
        900 => InternalException::class,      // PANIC caught by the C ABI guard
        901 => InternalException::class,
    ];

    public const NAMES = [
        100 => 'CONVTRACK_STATUS_NULL_POINTER',
        101 => 'CONVTRACK_STATUS_INVALID_UTF8',
        102 => 'CONVTRACK_STATUS_INVALID_ARGUMENT',
        200 => 'CONVTRACK_STATUS_INVALID_JSON',
        201 => 'CONVTRACK_STATUS_UNKNOWN_FIELD',
        202 => 'CONVTRACK_STATUS_WRONG_TYPE',
        203 => 'CONVTRACK_STATUS_MISSING_FIELD',
        204 => 'CONVTRACK_STATUS_INVALID_VALUE',
        205 => 'CONVTRACK_STATUS_TOO_LARGE',
        206 => 'CONVTRACK_STATUS_EVENT_TIME_OUT_OF_RANGE',
        300 => 'CONVTRACK_STATUS_INVALID_SETTING',
        400 => 'CONVTRACK_STATUS_STORAGE',
        401 => 'CONVTRACK_STATUS_NOT_CONFIGURED',
        900 => 'CONVTRACK_STATUS_PANIC',
        901 => 'CONVTRACK_STATUS_INTERNAL',
    ];

    public static function make(int $status, string $message, ?string $statusName = null): ConvtrackException
    {
        $class = self::CLASSES[$status] ?? InternalException::class;
        return new $class($message, $status, $statusName);
    }
}
