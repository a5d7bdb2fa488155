<?php
declare(strict_types=1);

namespace Convtrack;

/** A bug in convtrack (including a caught panic): please report it. */
class InternalException extends ConvtrackException
{
}
